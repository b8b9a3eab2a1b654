"""The licodec codec itself as an evaluation :class:`~licodec.eval.classical.Codec`.

``lic:MODEL`` evaluates model ``MODEL`` (``lic:default`` or plain ``lic``: :data:`licodec.models.DEFAULT`)
through the public API, :func:`licodec.compress` / :func:`licodec.decompress`, so every point is a
complete ``.lic`` file, header included, and the timings are those a library user sees.

The model is loaded once per process, before any timing: through ``licodec.api.get_model`` (the
API keeps it) when the API offers it, otherwise by building it here and handing it to the API as
``net=``. The runner also makes one untimed warm-up round trip per codec and process.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import numpy as np

from licodec.errors import InvalidOptionError
from licodec.eval.classical import Codec

__all__ = ["LIC_PREFIX", "DEFAULT_QUALITIES", "resolve_model", "lic_codec", "model_loader"]

LIC_PREFIX = "lic"
#: Qualities evaluated when ``lic:MODEL`` names no ``@q1,q2,...`` (the shipped models' range is 1-8).
DEFAULT_QUALITIES = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0)

_NETS: dict[str, Any] = {}


def resolve_model(model: str | None) -> str:
    """Registry name for ``model`` (``None``, ``""`` and ``"default"`` mean the default model)."""
    from licodec import models

    name = models.DEFAULT if model in (None, "", "default") else model
    if name not in models.available():
        raise InvalidOptionError(
            f"unknown model '{model}' in lic:{model} (available: {', '.join(models.available())})")
    return name


def _default_loader(name: str) -> Any:
    from licodec import models

    return models.create(name)


#: How a process builds a model from its name when it must hand ``net=`` to the API; tests may
#: replace it (e.g. to build untrained weights).
model_loader = _default_loader


def _net(name: str) -> Any:
    if name not in _NETS:
        _NETS[name] = model_loader(name)
    return _NETS[name]


def _accepts_net(fn: Any) -> bool:
    try:
        return "net" in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False


def lic_codec(model: str | None) -> Codec:
    """A :class:`Codec` for ``lic:model``; builds the model (once per process)."""
    import licodec

    name = resolve_model(model)
    api = importlib.import_module("licodec.api")
    can_pass_net = _accepts_net(licodec.compress) and _accepts_net(licodec.decompress)
    if model_loader is _default_loader and hasattr(api, "get_model"):
        loaded = api.get_model(name)  # loads (and caches) the model once, before any timing
        net = loaded[0] if isinstance(loaded, tuple) else loaded
        pass_net = False
    elif can_pass_net:
        net = _net(name)
        pass_net = True
    else:  # pragma: no cover - an API without either hook: the warm-up call loads the model
        net, pass_net = None, False
    lo, hi = getattr(net, "quality_range", (1.0, 8.0))
    defaults = tuple(float(q) for q in DEFAULT_QUALITIES if lo <= q <= hi) or (float(lo), float(hi))

    def encode(rgb: np.ndarray, setting: float, threads: int = 1) -> bytes:
        if pass_net:
            return licodec.compress(rgb, model=name, quality=float(setting), net=net)
        return licodec.compress(rgb, model=name, quality=float(setting))

    def decode(data: bytes, threads: int = 1) -> np.ndarray:
        image = licodec.decompress(data, net=net) if pass_net else licodec.decompress(data)
        return np.asarray(image.convert("RGB"), dtype=np.uint8)

    return Codec(
        name=f"{LIC_PREFIX}:{name}", label=f"licodec {name}", setting_name="quality",
        default_settings=defaults, setting_range=(float(lo), float(hi)), suffix="lic",
        description=f"licodec.compress(model='{name}', quality=q); complete .lic file",
        encode=encode, decode=decode)
