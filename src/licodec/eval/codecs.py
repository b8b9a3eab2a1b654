"""The ``--codecs`` list: parsing, alias expansion and codec lookup.

Grammar (comma separated)::

    CODECS  := ITEM ("," ITEM)*
    ITEM    := NAME ["@" NUMBER ("," NUMBER)*]
    NAME    := "lic" | "lic:" MODEL | "lic:" PATH ".safetensors" | jpeg | jpeg444 | jpeg420 | webp | avif | avif444
             | jpeg2000 | jpegxl | (aliases: jpg, j2k, jp2, jxl)

A bare number continues the settings list of the item before it, so
``lic:default@1,2.5,4,jpeg,webp@50,75`` is three items. Without ``@`` a codec runs its default
settings (``lic``: qualities 1-8).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from licodec.errors import InvalidOptionError
from licodec.eval.classical import ALIASES, CLASSICAL, Codec, classical_codec

__all__ = ["CodecSpec", "parse_codecs", "resolve_specs", "get_codec", "DEFAULT_CODECS"]

#: What ``lic eval`` runs when ``--codecs`` is not given: the default model and the five classical codecs.
DEFAULT_CODECS = "lic:default,jpeg,webp,avif,jpeg2000,jpegxl"

_NAME_RE = re.compile(r"^(lic(:[^@,]*)?|[a-z0-9_\-]+)$")


@dataclass(frozen=True)
class CodecSpec:
    """A codec name and the settings to evaluate (``None``: the codec's defaults)."""

    name: str
    settings: tuple[float, ...] | None = None


def _number(tok: str, where: str) -> float:
    try:
        value = float(tok)
    except ValueError:
        raise InvalidOptionError(f"malformed --codecs: '{tok}' in {where} is not a number") from None
    if not math.isfinite(value):
        raise InvalidOptionError(f"malformed --codecs: setting '{tok}' must be finite")
    return value


def _is_number(tok: str) -> bool:
    try:
        float(tok)
    except ValueError:
        return False
    return True


def parse_codecs(text: str) -> list[CodecSpec]:
    """Parse a ``--codecs`` value into specs (names are checked by :func:`resolve_specs`)."""
    if text is None or not text.strip():
        raise InvalidOptionError("malformed --codecs: empty list")
    items: list[tuple[str, list[float] | None]] = []
    for raw in text.split(","):
        tok = raw.strip()
        if not tok:
            raise InvalidOptionError(f"malformed --codecs '{text}': empty item")
        if _is_number(tok):
            if not items or items[-1][1] is None:
                raise InvalidOptionError(
                    f"malformed --codecs '{text}': setting '{tok}' does not follow NAME@...")
            items[-1][1].append(_number(tok, text))
            continue
        name, sep, first = tok.partition("@")
        name = name.strip().lower() if not name.strip().startswith("lic:") else name.strip()
        if not _NAME_RE.match(name):
            raise InvalidOptionError(f"malformed --codecs: bad codec name '{name}'")
        if sep:
            if not first.strip():
                raise InvalidOptionError(f"malformed --codecs: '{tok}' has no settings after '@'")
            items.append((name, [_number(first.strip(), tok)]))
        else:
            items.append((name, None))
    return [CodecSpec(n, None if s is None else tuple(s)) for n, s in items]


def _expand(name: str) -> list[str]:
    if name == "lic" or name.startswith("lic:"):
        from licodec.eval.lic import resolve_model

        model = name[4:] if name.startswith("lic:") else None
        return [f"lic:{resolve_model(model)}"]
    if name in ALIASES:
        return list(ALIASES[name])
    classical_codec(name)  # raises for unknown names
    return [name]


def resolve_specs(specs: list[CodecSpec]) -> list[CodecSpec]:
    """Expand aliases, resolve ``lic:default``, fill in default settings and check ranges.

    Items naming the same codec are merged (settings in order of first appearance).
    """
    merged: dict[str, list[float]] = {}
    for spec in specs:
        for name in _expand(spec.name):
            if spec.settings is not None:
                settings = list(spec.settings)
            elif name in CLASSICAL:
                settings = list(CLASSICAL[name].default_settings)
            else:
                from licodec.eval.lic import DEFAULT_QUALITIES

                settings = list(DEFAULT_QUALITIES)
            if name in CLASSICAL:
                settings = [CLASSICAL[name].check_setting(v) for v in settings]
            elif any(v <= 0 for v in settings):
                raise InvalidOptionError(f"{name}: qualities must be positive")
            have = merged.setdefault(name, [])
            have.extend(v for v in settings if v not in have)
    if not merged:
        raise InvalidOptionError("malformed --codecs: no codec selected")
    return [CodecSpec(name, tuple(values)) for name, values in merged.items()]


_CACHE: dict[str, Codec] = {}


def get_codec(name: str) -> Codec:
    """The :class:`Codec` for a resolved name (``jpeg444``, ``lic:mbt2018-mean``...), cached per process."""
    if name not in _CACHE:
        if name.startswith("lic:") or name == "lic":
            from licodec.eval.lic import lic_codec

            _CACHE[name] = lic_codec(name[4:] if name.startswith("lic:") else None)
        else:
            _CACHE[name] = classical_codec(name)
    return _CACHE[name]
