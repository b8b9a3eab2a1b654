"""Shared checks of the decoding contract, used by every model's tests.

``check_roundtrip`` codes an image through real bitstreams and asserts the decoder's ``y_hat``
equals the encoder's bit for bit, and that the coded size is within 1 % (+ stream framing) of
the rate the model's own likelihoods predict. ``check_cross_process`` decodes in a fresh
Python process with one thread and oneDNN disabled, from weights saved to disk.
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import torch

from licodec import models
from licodec.coding import container

FRAMING_BYTES = 16  # per stream: varint length + ANS word padding + escape byte


def random_model(name: str, seed: int = 0, **config) -> models.CompressionModel:
    torch.manual_seed(seed)
    net = models.create(name, pretrained=False, **config)
    net.eval()
    net.update_tables()
    return net


def liven(net: models.CompressionModel) -> models.CompressionModel:
    """Make a random-weight model's latents look like a trained one's, in place: untrained GDN
    transforms give |y| << 1 (every symbol 0) and σ at the table floor, which would test nothing.
    Scale y up (std ≈ 2) and lift σ (bias +2 on the layer that outputs it) so symbols spread over
    several values and the tables vary."""
    if net.name == "bls2017":  # a factorized prior: no σ to lift
        sigma_biases = []
    elif net.name == "ms2020":
        sigma_biases = [t[-1].bias for t in net.cc_scale]
    elif net.name == "elic2022":
        sigma_biases = [agg[-1].bias[:c] for agg, c in zip(net.param_aggregation, net.groups)]
    else:
        layers = net.h_s if net.name in ("bmshj2018-hyperprior", "mbt2018-mean") else net.entropy_parameters
        last = [m for m in layers if getattr(m, "bias", None) is not None][-1]
        sigma_biases = [last.bias[: net.M]]  # σ is the first M outputs
    with torch.no_grad():
        if isinstance(net.g_a[-1], torch.nn.Conv2d):
            net.g_a[-1].weight.mul_(100.0)
        else:  # g_a ends in an attention block (cheng2020-attn): scale y by its gain vectors
            net.gain.log_enc.add_(math.log(100.0))
        for bias in sigma_biases:
            bias += 2.0
    return net


def test_image(h: int = 128, w: int = 192, seed: int = 0) -> torch.Tensor:
    """A smooth random image with some texture (not pure noise, so rates are realistic)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(1, 3, h // 16, w // 16, generator=g)
    x = torch.nn.functional.interpolate(base, size=(h, w), mode="bicubic", align_corners=False)
    x = x + 0.05 * torch.rand(1, 3, h, w, generator=g)
    return x.clamp(0, 1)


def estimated_bits(net: models.CompressionModel, x: torch.Tensor, quality: float) -> float:
    with torch.no_grad():
        out = net(x, quality)
    return float(sum((-torch.log2(l.double())).sum() for l in out["likelihoods"].values()))


def check_roundtrip(net: models.CompressionModel, x: torch.Tensor, quality: float | None = None,
                    rate_tolerance: float = 0.01) -> dict:
    q = net.default_quality if quality is None else quality
    enc = net.compress(x, q)
    dec = net.decompress(enc["strings"], enc["shape"], q)
    assert enc["y_hat"].dtype == dec["y_hat"].dtype
    assert torch.equal(enc["y_hat"], dec["y_hat"]), "decoder y_hat differs from encoder y_hat"
    actual = 8 * sum(len(s) for s in enc["strings"])
    est = estimated_bits(net, x, q)
    slack = 8 * FRAMING_BYTES * len(enc["strings"])
    assert actual <= est * (1 + rate_tolerance) + slack, f"coded {actual} bits, model estimates {est:.0f}"
    assert actual >= est * (1 - rate_tolerance) - slack, f"coded {actual} bits, model estimates {est:.0f}"
    return enc


_DECODE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np, torch
    torch.set_num_threads(1)
    torch.backends.mkldnn.enabled = False
    from licodec import models
    args = json.loads(sys.argv[1])
    net = models.create(args["name"], weights=args["weights"])
    strings = [open(p, "rb").read() for p in args["streams"]]
    dec = net.decompress(strings, tuple(args["shape"]), args["quality"])
    np.save(args["out"], dec["y_hat"].numpy())
    """
)


def check_cross_process(net: models.CompressionModel, x: torch.Tensor, tmp_path: Path, quality: float | None = None) -> None:
    """Encode here (current threads, oneDNN on), decode in a fresh process (1 thread, oneDNN off)."""
    q = net.default_quality if quality is None else quality
    torch.set_num_threads(2)
    try:
        enc = net.compress(x, q)
    finally:
        torch.set_num_threads(1)
    weights = tmp_path / "w.safetensors"
    models.save_weights(net, weights)
    streams = []
    for i, s in enumerate(enc["strings"]):
        p = tmp_path / f"s{i}.bin"
        p.write_bytes(s)
        streams.append(str(p))
    out = tmp_path / "y_hat.npy"
    args = {"name": net.name, "weights": str(weights), "streams": streams, "shape": list(enc["shape"]),
            "quality": q, "out": str(out)}
    subprocess.run([sys.executable, "-c", _DECODE_SCRIPT, json.dumps(args)], check=True, timeout=600)
    y_other = np.load(out)
    assert np.array_equal(y_other, enc["y_hat"].numpy()), "y_hat decoded in a fresh process differs"


def decoded_latents(net: models.CompressionModel, data: bytes) -> torch.Tensor:
    """The latents ŷ the decoder reconstructs from the ``.lic`` bytes ``data``."""
    header, streams = container.unpack(data)
    with torch.inference_mode():
        return net.decompress(streams, header.shape, header.quality)["y_hat"]


def latents_digest(y_hat: torch.Tensor) -> str:
    """SHA-256 of ``y_hat`` as little-endian float64."""
    return hashlib.sha256(y_hat.double().numpy().astype("<f8").tobytes()).hexdigest()


test_image.__test__ = False  # a helper, not a test (it is imported into test modules)
