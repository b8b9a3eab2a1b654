"""Widening a trained model: a model with more channels (N and/or M) that starts where the
narrow one stands.

Function-preserving widening after Chen, Goodfellow & Shlens, "Net2Net: accelerating learning
via knowledge transfer", ICLR 2016 (Net2WiderNet), with zero fan-in from the new units instead
of replicated units: every narrow tensor fills the leading slice of the wide one (per chunk
where a layer's output is split, e.g. h_s's [σ; μ]); new units keep the wide model's fresh
initialization; every weight *from* a new unit *into* an old one starts at zero (and GDN's
fresh γ is diagonal, so old units are not normalized by new ones). The old units then compute
exactly what they did; the new ones receive gradients at once (their fan-out is zero but their
activations are not) and training decides what they are worth.

New latent channels (M) and hyper-latent channels (N, z) are coded, so they are started where
they cost almost nothing: the new outputs of the last layers of g_a and h_a at a tenth of their
fresh scale (so they round to zero), the densities of new z channels as a copy of the trained
channel most concentrated at zero, the quality gains of new y channels at the mean of the
trained ones. Measured on the trained mbt2018-mean (step 48,020) widened from N=128, M=192 to N=192,
M=320 (first 3 Kodak images): +0.000 / +0.000 / +0.010 bpp at qualities 1 / 4 / 8 before any training,
where fresh new channels would cost +0.08 / +0.09 / +0.95 bpp.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from licodec.entropy_models.factorized import FactorizedDensity
from licodec.errors import WeightsError
from licodec.models.base import CompressionModel


def _out_in_dims(model: nn.Module) -> dict[str, tuple[int, int]]:
    """(output dim, input dim) of every conv weight in ``model``."""
    dims = {}
    for name, m in model.named_modules():
        if isinstance(m, nn.ConvTranspose2d):
            dims[f"{name}.weight"] = (1, 0)
        elif isinstance(m, nn.Conv2d):
            dims[f"{name}.weight"] = (0, 1)
    return dims


@torch.no_grad()
def widen(model: CompressionModel, tensors: dict[str, Tensor], source: str = "weights") -> None:
    """Load the narrow ``tensors`` into the wider, freshly initialized ``model`` as described in
    the module docstring. Raises :class:`WeightsError` if the model cannot widen or a tensor does
    not fit inside the model's."""
    chunks = model.widening_chunks()
    if chunks is None:
        raise WeightsError(f"{model.name} cannot start from the weights of a narrower {model.name}")
    own = model.state_dict()
    unexpected = sorted(set(tensors) - set(own))
    if unexpected:
        raise WeightsError(f"{source} do not fit {model.name}: {len(unexpected)} unexpected tensors")
    dims = _out_in_dims(model)
    for key, old in tensors.items():
        if key.rsplit(".", 1)[-1].startswith("_"):
            continue  # coding tables: rebuilt by update_tables
        new = own[key]
        out_dim, in_dim = dims.get(key, (0, None))
        c = next((n for p, n in chunks.items() if key.startswith(p + ".")), 1)
        if old.dim() != new.dim() or any(o > n for o, n in zip(old.shape, new.shape)) or \
                old.shape[out_dim] % c or new.shape[out_dim] % c:
            raise WeightsError(f"{source} do not fit {model.name}: {key} has shape {tuple(old.shape)}, "
                               f"which is not inside {tuple(new.shape)}")
        old = old.to(new.dtype)
        if key.startswith("gain.log_"):
            new[:, old.shape[1]:] = old.mean(dim=1, keepdim=True)
        for n, o in zip(new.chunk(c, out_dim), old.chunk(c, out_dim)):
            if in_dim is not None:
                # weights from new inputs into old outputs start at zero
                idx = [slice(None)] * n.dim()
                idx[out_dim] = slice(0, o.shape[out_dim])
                idx[in_dim] = slice(o.shape[in_dim], None)
                n[tuple(idx)] = 0
            n[tuple(slice(0, s) for s in o.shape)] = o
    model.load_state_dict(own)
    for seq in ("g_a", "h_a"):  # the layers whose outputs are coded: new outputs start small
        convs = [(k, m) for k, m in getattr(model, seq).named_children() if isinstance(m, nn.Conv2d)] \
            if hasattr(model, seq) else []
        if convs:
            k, last = convs[-1]
            old_out = tensors[f"{seq}.{k}.weight"].shape[0]
            last.weight[old_out:] *= 0.1
            last.bias[old_out:] *= 0.1
    for name, m in model.named_modules():
        if isinstance(m, FactorizedDensity):
            old_c = tensors[f"{name}.matrices.0"].shape[0]
            if m.channels > old_c:  # new channels: the trained density most concentrated at zero
                p0 = m.likelihood(torch.zeros(1, m.channels, 1, 1))[0, :old_c, 0, 0]
                best = int(p0.argmax())
                for param in (*m.matrices, *m.biases, *m.factors):
                    param[old_c:] = param[best]
    model.update_tables()
