"""Saving and loading model weights as safetensors (never pickle), and weight digests.

A weights file holds the state dict (float tensors optionally in fp16; coding tables always
fp32) and string metadata: ``format`` (``licodec-weights-1``), ``model`` (registry name),
``config`` (JSON of the constructor arguments) and optional free-form ``card`` fields.
The *digest* written into every ``.lic`` file identifies the exact numbers a model codes
with: SHA-256 over the state dict as loaded (names, dtypes, shapes and bytes), first 8 bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from licodec.errors import WeightsError
from licodec.image_io import write_atomic_with

FORMAT = "licodec-weights-1"


def state_digest(model: torch.nn.Module) -> bytes:
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        t = t.detach().contiguous().cpu()
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.digest()[:8]


def save_weights(model: torch.nn.Module, path: str | os.PathLike, *, fp16: bool = False,
                 metadata: dict[str, str] | None = None) -> None:
    """Write the model's weights atomically. ``fp16`` halves every float parameter; coding tables
    (``_pmf``) stay fp32 because their tail probabilities underflow in half precision."""
    tensors = {}
    for name, t in model.state_dict().items():
        t = t.detach().contiguous().cpu()
        if fp16 and t.is_floating_point() and not name.endswith("_pmf"):
            t = t.half()
        tensors[name] = t
    meta = {"format": FORMAT, "model": getattr(model, "name", ""), "config": json.dumps(model.config())}
    meta.update(metadata or {})
    path = Path(path)
    write_atomic_with(path, lambda tmp: save_file(tensors, tmp, metadata=meta))


def read_weights(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read tensors and metadata; raises :class:`WeightsError` for anything that is not a licodec
    safetensors file."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{path.name} is not a valid safetensors weights file ({exc})") from None
    if meta.get("format") != FORMAT:
        raise WeightsError(f"{path.name} is not a licodec weights file (no '{FORMAT}' metadata)")
    try:
        meta["config"] = json.loads(meta.get("config", "{}"))
    except json.JSONDecodeError:
        raise WeightsError(f"{path.name} has malformed config metadata") from None
    return tensors, meta


def load_state(model: torch.nn.Module, tensors: dict[str, torch.Tensor], source: str = "weights",
               partial: bool = False) -> None:
    """Load ``tensors`` into ``model`` (upcasting fp16), with a clear error on any mismatch;
    ``partial`` lets the model have tensors the file lacks (they keep their values)."""
    own = model.state_dict()
    missing = [] if partial else sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    if missing or unexpected:
        raise WeightsError(f"{source} do not fit {getattr(model, 'name', 'the model')}: "
                           f"{len(missing)} missing, {len(unexpected)} unexpected tensors")
    for k, t in tensors.items():
        if t.shape != own[k].shape and not k.endswith("_pmf"):
            raise WeightsError(f"{source} do not fit {getattr(model, 'name', 'the model')}: "
                               f"{k} has shape {tuple(t.shape)}, expected {tuple(own[k].shape)}")
    model.load_state_dict({k: t.to(own[k].dtype) for k, t in tensors.items()}, strict=not partial)
