"""Published Kodak rate-distortion curves shipped with licodec (``licodec/data/anchors_kodak.json``).

The file holds, with their sources noted per curve:

* classical codecs as published in the CompressAI results (VTM, HM, BPG 4:4:4, AV1);
* learned codecs from their papers (ELIC, Minnen 2020, checkerboard, mbt2018, bmshj2018, ...);
* the CompressAI zoo re-measured on 8-bit reconstructions (bmshj2018, mbt2018, cheng2020);
* ``here-*``: the classical codecs measured on this project's 2-core machine kind.

They are what the plots draw beside our own measurements and what the BD-rate tests check
against (ELIC vs VTM about -7 %, bmshj2018 hyperprior vs VTM about +30 %).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from licodec.errors import InvalidOptionError
from licodec.eval.results import Curve, curves_from_results

__all__ = ["ANCHOR_RESOURCE", "DEFAULT_PLOT_ANCHORS", "REFERENCE_ANCHOR", "anchor_document",
           "load_anchors", "select_anchors"]

ANCHOR_RESOURCE = "anchors_kodak.json"
#: Anchors drawn in plots and listed in the report unless told otherwise.
DEFAULT_PLOT_ANCHORS = ("vtm", "bpg444", "elic2022-paper", "bmshj2018-hyperprior")
#: The curve BD-rates in the report are measured against by default.
REFERENCE_ANCHOR = "vtm"


@lru_cache(maxsize=1)
def _raw() -> str:
    return resources.files("licodec").joinpath("data", ANCHOR_RESOURCE).read_text(encoding="utf-8")


def anchor_document() -> dict[str, Any]:
    """The parsed anchor file (``_about``, ``_sources`` and ``curves``)."""
    return json.loads(_raw())


def load_anchors() -> dict[str, Curve]:
    """All shipped anchor curves by key (``vtm``, ``bpg444``, ``elic2022-paper``, ...)."""
    return curves_from_results(anchor_document(), ANCHOR_RESOURCE)


def select_anchors(names: str | None) -> dict[str, Curve]:
    """Anchors named in a comma list; ``None``/``"default"``: :data:`DEFAULT_PLOT_ANCHORS`;
    ``"none"``: no anchor; ``"all"``: every shipped curve."""
    curves = load_anchors()
    if names is None or names.strip().lower() == "default":
        keys = list(DEFAULT_PLOT_ANCHORS)
    elif names.strip().lower() == "none":
        return {}
    elif names.strip().lower() == "all":
        keys = list(curves)
    else:
        keys = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [k for k in keys if k not in curves]
    if unknown:
        raise InvalidOptionError(
            f"unknown anchor '{unknown[0]}' (available: {', '.join(curves)})")
    return {k: curves[k] for k in keys}
