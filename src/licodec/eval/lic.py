"""The licodec codec itself as an evaluation :class:`~licodec.eval.classical.Codec`.

``lic:MODEL`` evaluates model ``MODEL`` (``lic:default`` or plain ``lic``: :data:`licodec.models.DEFAULT`)
with its shipped weights; ``lic:PATH.safetensors`` evaluates a weights file (e.g. a training
run's ``weights.safetensors``) with the architecture the file names. Coding goes through the
public API, :func:`licodec.compress` / :func:`licodec.decompress`, so every point is a complete
``.lic`` file, header included, and the timings are those a library user sees.

The model is loaded once per process, before any timing, through ``licodec.api.get_model`` (the
API keeps it). The runner also makes one untimed warm-up round trip per codec and process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from licodec.errors import InvalidOptionError
from licodec.eval.classical import Codec

__all__ = ["LIC_PREFIX", "DEFAULT_QUALITIES", "EncoderOptions", "resolve_model", "lic_codec", "model_loader"]

LIC_PREFIX = "lic"
#: Qualities evaluated when ``lic:MODEL`` names no ``@q1,q2,...`` (the shipped models' range is 1-8).
DEFAULT_QUALITIES = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0)

_NETS: dict[str, Any] = {}


def _is_file(model: str | None) -> bool:
    return bool(model) and model.endswith(".safetensors")


@dataclass(frozen=True)
class EncoderOptions:
    """The encoder options a ``lic:`` codec name can carry after its model: ``+refineN``,
    ``+orient`` and ``+nofilter`` (any order; the canonical order is that one)."""

    refine: int = 0
    orient: bool = False
    postfilter: bool = True

    @property
    def suffix(self) -> str:
        return (f"+refine{self.refine}" if self.refine else "") + ("+orient" if self.orient else "") + \
            ("" if self.postfilter else "+nofilter")

    @property
    def label(self) -> str:
        return (f" + refine {self.refine}" if self.refine else "") + (" + orient" if self.orient else "") + \
            ("" if self.postfilter else ", no post-filter")

    @property
    def arguments(self) -> str:
        """Those options as :func:`licodec.compress` arguments (``", refine=50, orient=True"``)."""
        return (f", refine={self.refine}" if self.refine else "") + (", orient=True" if self.orient else "") + \
            ("" if self.postfilter else ", postfilter=False")


def split_options(model: str | None) -> tuple[str | None, EncoderOptions]:
    """The model and the encoder options after it: ``("default", EncoderOptions(50, True))`` for
    ``"default+orient+refine50"``."""
    model, options = model or "", {}
    while match := re.fullmatch(r"(.*)\+(refine(\d+)|orient|nofilter)", model):
        model, option = match.group(1), match.group(2)
        if match.group(3) is not None:
            options["refine"] = int(match.group(3))
        elif option == "orient":
            options["orient"] = True
        else:
            options["postfilter"] = False
    return model or None, EncoderOptions(**options)


def resolve_model(model: str | None) -> str:
    """Registry name for ``model`` (``None``, ``""`` and ``"default"`` mean the default model), or
    ``model`` itself when it is the path of a weights file; encoder options are kept, in their
    canonical order (:class:`EncoderOptions`)."""
    from licodec import models

    model, options = split_options(model)
    if options != EncoderOptions():
        from licodec.refine import check_steps

        check_steps(options.refine)
        return resolve_model(model) + options.suffix

    if _is_file(model):
        if not Path(model).is_file():
            raise InvalidOptionError(f"weights file not found: {model} (in lic:{model})")
        return model
    name = models.DEFAULT if model in (None, "", "default") else model
    if name not in models.available():
        raise InvalidOptionError(
            f"unknown model '{model}' in lic:{model} (available: {', '.join(models.available())}, "
            "or a .safetensors weights file)")
    return name


#: Tests may set this to a function that builds the model for a name (e.g. untrained weights);
#: that model is handed to the API as ``net=``. ``None``: load through the API's cache.
model_loader: Callable[[str], Any] | None = None


def lic_codec(model: str | None) -> Codec:
    """A :class:`Codec` for ``lic:model``; builds the model (once per process)."""
    import licodec
    from licodec import api
    from licodec.models.weights import read_weights

    resolved = resolve_model(model)
    name, options = split_options(resolved)
    weights = name if _is_file(name) else None
    if model_loader is not None:
        if name not in _NETS:
            _NETS[name] = model_loader(name)
        net = hand = _NETS[name]
    else:  # load (and cache) the model once, before any timing, under the key decoding uses
        arch = read_weights(weights)[1].get("model", "") if weights else name
        net, _ = api.get_model(arch, weights)
        hand = None
    arch = net.name
    net.check_refine(options.refine)
    lo, hi = net.quality_range
    defaults = tuple(float(q) for q in DEFAULT_QUALITIES if lo <= q <= hi) or (float(lo), float(hi))

    def encode(rgb: np.ndarray, setting: float, threads: int = 1) -> bytes:
        return licodec.compress(rgb, model=arch, quality=float(setting), weights=weights, net=hand,
                                refine=options.refine, orient=options.orient, postfilter=options.postfilter)

    def decode(data: bytes, threads: int = 1) -> np.ndarray:
        image = licodec.decompress(data, weights=weights, net=hand)
        return np.asarray(image.convert("RGB"), dtype=np.uint8)

    label = f"licodec {Path(name).stem}" if weights else f"licodec {name}"
    arguments = (", weights=FILE" if weights else "") + options.arguments
    return Codec(
        name=f"{LIC_PREFIX}:{resolved}", label=label + options.label, setting_name="quality",
        default_settings=defaults, setting_range=(float(lo), float(hi)), suffix="lic",
        description=f"licodec.compress(model='{arch}', quality=q{arguments}); complete .lic file",
        encode=encode, decode=decode)
