"""Resumable training checkpoints without pickle.

A checkpoint is two files in the run folder, written atomically in this order:

* ``checkpoint.safetensors`` — model, EMA and optimizer tensors, torch RNG state;
* ``checkpoint.json`` — step, wall time, arguments, optimizer scalars, NumPy/Python RNG
  states and the SHA-256 of the tensor file (so a half-written pair is detected).
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from licodec.errors import WeightsError
from licodec.image_io import write_atomic_with


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_checkpoint(run: Path, *, model: torch.nn.Module, ema: dict[str, torch.Tensor],
                    optimizer: torch.optim.Optimizer, step: int, meta: dict[str, Any]) -> None:
    tensors: dict[str, torch.Tensor] = {}
    for k, v in model.state_dict().items():
        tensors[f"model.{k}"] = v.detach().contiguous().cpu()
    for k, v in ema.items():
        tensors[f"ema.{k}"] = v.detach().contiguous().cpu()
    opt_state = optimizer.state_dict()
    scalars: dict[str, dict[str, float]] = {}
    for idx, st in opt_state["state"].items():
        for name, val in st.items():
            if torch.is_tensor(val) and val.numel() > 1:
                tensors[f"opt.{idx}.{name}"] = val.detach().contiguous().cpu()
            else:
                scalars.setdefault(str(idx), {})[name] = float(val)
    tensors["rng.torch"] = torch.get_rng_state()
    st_path = run / "checkpoint.safetensors"
    write_atomic_with(st_path, lambda tmp: save_file(tensors, tmp))
    np_state = np.random.get_state()
    info = dict(meta)
    info.update({
        "step": step,
        "tensors_sha256": _sha(st_path),
        "optimizer": {"param_groups": opt_state["param_groups"], "scalars": scalars},
        "rng": {
            "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
            "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
        },
    })
    write_atomic_with(run / "checkpoint.json", lambda tmp: Path(tmp).write_text(json.dumps(info)))


def read_checkpoint(run: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors and metadata of the checkpoint in ``run``, checked against each other."""
    info_path, st_path = run / "checkpoint.json", run / "checkpoint.safetensors"
    if not info_path.is_file() or not st_path.is_file():
        raise WeightsError(f"no checkpoint in {run}")
    info = json.loads(info_path.read_text())
    if info.get("tensors_sha256") != _sha(st_path):
        raise WeightsError(f"checkpoint in {run} is inconsistent (tensor file does not match)")
    return load_file(str(st_path)), info


def section(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The checkpoint tensors under ``prefix`` (``"model."``, ``"ema."``, ...), named without it."""
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def ema_state(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The moving average of the weights in checkpoint ``tensors`` (fp32; packs store it as a
    bf16 difference from the model)."""
    model = section(tensors, "model.")
    ema = {k: v.float() for k, v in section(tensors, "ema.").items()}
    ema.update({k: model[k].float() + v.float() for k, v in section(tensors, "ema_diff.").items()})
    return ema


def load_checkpoint(run: Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Restore model, optimizer and RNG states in place; returns (ema tensors, metadata)."""
    tensors, info = read_checkpoint(run)
    model.load_state_dict(section(tensors, "model."))
    ema = ema_state(tensors)
    state: dict[int, dict[str, Any]] = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, idx, name = k.split(".", 2)
            state.setdefault(int(idx), {})[name] = v.float()  # packs store moments in bf16
    for idx, sc in info["optimizer"]["scalars"].items():
        for name, val in sc.items():
            state.setdefault(int(idx), {})[name] = torch.tensor(val)
    for st in state.values():  # packs leave out Adam's first moment: it restarts at zero
        if "exp_avg_sq" in st and "exp_avg" not in st:
            st["exp_avg"] = torch.zeros_like(st["exp_avg_sq"])
    optimizer.load_state_dict({"state": state, "param_groups": info["optimizer"]["param_groups"]})
    torch.set_rng_state(tensors["rng.torch"])
    np_rng = info["rng"]["numpy"]
    np.random.set_state((np_rng[0], np.array(np_rng[1], dtype=np.uint32), *np_rng[2:]))
    py = info["rng"]["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    return ema, info


def pack_checkpoint(run: Path, dest: Path) -> int:
    """Write a compact copy of a run's checkpoint to ``dest`` for committing or moving between
    machines: model in fp32; Adam's second moment and the EMA's difference from the model in bf16
    (the difference is small, so bf16's 8-bit precision keeps the average within 0.4 % of its
    distance from the model); no first moment, which restarts at zero and is rebuilt within a few
    dozen steps (β1 = 0.9), unlike the second (β2 = 0.999). Resuming from a pack is close to, not
    bit-identical with, resuming the full run. Returns the size in bytes."""
    info = json.loads((run / "checkpoint.json").read_text())
    tensors = load_file(str(run / "checkpoint.safetensors"))
    packed: dict[str, torch.Tensor] = {}
    for k, v in tensors.items():
        if k.startswith("ema."):
            packed[f"ema_diff.{k[4:]}"] = (v.float() - tensors[f"model.{k[4:]}"].float()).to(torch.bfloat16)
        elif k.startswith("opt.") and k.endswith(".exp_avg"):
            continue
        elif k.startswith("opt.") and v.is_floating_point():
            packed[k] = v.to(torch.bfloat16)
        else:
            packed[k] = v
    dest.mkdir(parents=True, exist_ok=True)
    st_path = dest / "checkpoint.safetensors"
    write_atomic_with(st_path, lambda tmp: save_file(packed, tmp))
    info["tensors_sha256"] = _sha(st_path)
    info["packed"] = True
    write_atomic_with(dest / "checkpoint.json", lambda tmp: Path(tmp).write_text(json.dumps(info)))
    return st_path.stat().st_size
