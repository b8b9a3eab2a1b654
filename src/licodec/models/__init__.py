"""Model registry: one class per paper, created by name.

>>> from licodec import models
>>> models.available()[:3]
['bls2017', 'bmshj2018-hyperprior', 'mbt2018-mean']
>>> net = models.create("mbt2018-mean", pretrained=False)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

from licodec.errors import UnknownModelError, WeightsError
from licodec.models.base import LAMBDAS_MSE, CompressionModel
from licodec.models.weights import load_state, read_weights, save_weights, state_digest
from licodec.models.widen import widen

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
DEFAULT = "mbt2018-mean"


@dataclass(frozen=True)
class _Entry:
    module: str
    cls: str
    kwargs: tuple[tuple[str, Any], ...] = ()


_REGISTRY: dict[str, _Entry] = {
    "bls2017": _Entry("bls2017", "FactorizedPrior"),
    "bmshj2018-hyperprior": _Entry("bmshj2018", "ScaleHyperprior"),
    "mbt2018-mean": _Entry("mbt2018", "MeanScaleHyperprior"),
    "mbt2018": _Entry("mbt2018", "JointAutoregressiveHierarchicalPriors"),
    "cheng2020-anchor": _Entry("cheng2020", "Cheng2020Anchor"),
    "cheng2020-attn": _Entry("cheng2020", "Cheng2020Attention"),
    "ms2020": _Entry("ms2020", "ChannelAutoregressive"),
    "he2021-checkerboard": _Entry("he2021", "CheckerboardContext"),
    "elic2022": _Entry("elic2022", "ELIC"),
}


def register(name: str, module: str, cls: str, **kwargs: Any) -> None:
    """Add a model to the registry (``module`` is relative to ``licodec.models``)."""
    _REGISTRY[name] = _Entry(module, cls, tuple(sorted(kwargs.items())))


def available() -> list[str]:
    return list(_REGISTRY)


def model_class(name: str) -> type[CompressionModel]:
    if name not in _REGISTRY:
        raise UnknownModelError(f"unknown model '{name}' (available: {', '.join(available())})")
    entry = _REGISTRY[name]
    return getattr(import_module(f"licodec.models.{entry.module}"), entry.cls)


def shipped_weights(name: str) -> Path | None:
    path = WEIGHTS_DIR / f"{name}.safetensors"
    return path if path.is_file() else None


def create(name: str, quality: float | None = None, pretrained: bool = True,
           weights: str | os.PathLike | None = None, **config: Any) -> CompressionModel:
    """Build model ``name``. ``pretrained`` loads the weights shipped in the package (error if
    none ship); ``weights`` loads a safetensors file instead. ``quality`` sets the default
    quality used when compress/forward get none. Weights of a model in ``name``'s ``grows_from``
    (e.g. ``mbt2018-mean`` for ``he2021-checkerboard``) start the larger model where the smaller
    one stands (:meth:`CompressionModel.grow`), and so do weights of the same model with fewer
    channels when ``config`` asks for more N or M (:func:`licodec.models.widen.widen`). Returns
    the model in eval mode."""
    cls = model_class(name)
    entry = _REGISTRY[name]
    path = Path(weights) if weights is not None else (shipped_weights(name) if pretrained else None)
    if weights is None and pretrained and path is None:
        raise WeightsError(f"no trained weights ship for '{name}': pass pretrained=False or a weights file")
    kwargs = dict(entry.kwargs)
    tensors = None
    grow = wide = False
    if path is not None:
        tensors, meta = read_weights(path)
        grow = meta.get("model") in cls.grows_from
        if meta.get("model") != name and not grow:
            raise WeightsError(f"{path.name} holds weights for '{meta.get('model')}', not '{name}'")
        kwargs.update(meta["config"])
        wide = any(k in ("N", "M") and v != meta["config"].get(k) for k, v in config.items())
    kwargs.update(config)
    if "lambdas" in kwargs:
        kwargs["lambdas"] = tuple(kwargs["lambdas"])
    try:
        model = cls(**kwargs)
    except TypeError as exc:
        raise WeightsError(f"configuration does not fit '{name}': {exc}") from None
    if wide:
        widen(model, tensors, source=path.name)
    elif tensors is not None:
        load_state(model, tensors, source=path.name, partial=grow)
        if grow:
            model.grow()
    if quality is not None:
        model.quality_tensor(quality, 1)  # validates
        model._default_quality = float(quality)
    model.eval()
    return model


def load(path: str | os.PathLike) -> CompressionModel:
    """Build whichever model a licodec weights file was saved from."""
    _, meta = read_weights(path)
    return create(meta.get("model", ""), weights=path)


__all__ = [
    "DEFAULT", "LAMBDAS_MSE", "CompressionModel", "available", "create", "load", "model_class",
    "register", "save_weights", "shipped_weights", "state_digest",
]
