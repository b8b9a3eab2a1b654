"""licodec: learned image compression with exact, portable decoding.

Data flow (one folder per stage)::

    image -> layers/models (g_a) -> y -> quantize -> entropy_models p(y_hat | ...) -> coding (ANS) -> container
    decode: container -> coding -> entropy_models -> y_hat -> g_s -> image

Quick use::

    import licodec
    data = licodec.compress(pil_image, model="mbt2018-mean", quality=4)
    image = licodec.decompress(data)
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["compress", "decompress", "read_header", "__version__"]


def __getattr__(name: str):
    # Lazy: `lic codes` and friends start without importing torch.
    if name in ("compress", "decompress", "read_header"):
        from licodec import api

        return getattr(api, name)
    raise AttributeError(f"module 'licodec' has no attribute {name!r}")
