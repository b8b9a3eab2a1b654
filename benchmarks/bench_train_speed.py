"""Training throughput (images/second) per model on this machine.

Times optimizer steps of each model at batch B and patch P, with bf16 autocast + channels_last
(the default recipe) and optionally fp32 and torch.compile, after a few warm-up steps.

    python benchmarks/bench_train_speed.py --models mbt2018-mean,elic2022 --batch 16 --patch 128
"""

from __future__ import annotations

import argparse
import time

import torch

from licodec import models
from licodec.precision import native_bf16
from licodec.train.loss import rd_loss


def steps_per_second(name: str, batch: int, patch: int, steps: int, bf16: bool, channels_last: bool, compile_: bool) -> float:
    torch.manual_seed(0)
    net = models.create(name, pretrained=False)
    net.train()
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    fwd = torch.compile(net) if compile_ else net
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    x = torch.rand(batch, 3, patch, patch)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    q = 1 + 7 * torch.rand(batch)
    lam = net.gain.lam(q)
    times = []
    for i in range(steps + 3):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = fwd(x, q)
        loss = rd_loss(out, x, lam)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= 3:
            times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="bls2017,bmshj2018-hyperprior,mbt2018-mean")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--patch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--variants", default="fp32,bf16,bf16+cl", help="precision (fp32 or bf16), +cl for channels_last, +compile for torch.compile, e.g. fp32,fp32+cl+compile")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    bf16 = "yes" if native_bf16(torch.device("cpu")) else "no: bf16 is emulated, lic train uses fp32"
    print(f"batch {args.batch}, patch {args.patch}², {args.threads} threads; bf16 arithmetic: {bf16}")
    print("median s/step and images/s")
    print(f"{'model':<22} {'variant':<18} {'s/step':>8} {'img/s':>8}")
    for name in args.models.split(","):
        for variant in args.variants.split(","):
            if "compile" in variant and not models.model_class(name).compiles:
                print(f"{name:<22} {variant:<18} skipped (torch.compile unsupported)", flush=True)
                continue
            s = steps_per_second(name, args.batch, args.patch, args.steps, bf16="bf16" in variant,
                                 channels_last="cl" in variant, compile_="compile" in variant)
            print(f"{name:<22} {variant:<18} {s:>8.3f} {args.batch / s:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
