"""Classical image codecs for comparison, each a real encoder writing a complete file.

Every codec maps an H x W x 3 uint8 RGB array and one numeric *setting* to the bytes of a complete
file (container and headers included) and decodes such bytes back to an H x W x 3 uint8 array.
The settings below were chosen so that the default list spans roughly 0.1-2 bpp on Kodak.

=========  =====================================================================  ==========
name       encoder and options                                                    setting
=========  =====================================================================  ==========
jpeg444    Pillow/libjpeg(-turbo) baseline JPEG, ``subsampling=0`` (4:4:4),        quality
           ``optimize=True`` (optimised Huffman tables), ``.jpg``                  0-100
jpeg420    as jpeg444 with ``subsampling=2`` (4:2:0, the usual default)            quality
webp       Pillow/libwebp lossy, ``method=6`` (slowest, best compression), 4:2:0   quality
avif444    Pillow/libavif (AV1, usually libaom), ``subsampling="4:4:4"``,          quality
           ``speed=4``, full range, ``.avif``                                      0-100
jpeg2000   Pillow/OpenJPEG ``.jp2``, ``irreversible=True`` (CDF 9/7 wavelet),      target bpp
           ``mct=1`` (irreversible colour transform), ``quality_mode="rates"``,
           one quality layer at compression ratio 24/bpp
jpegxl     imagecodecs/libjxl, ``distance`` (butteraugli distance, lower is        distance
           better), default effort 7, bare codestream ``.jxl``
=========  =====================================================================  ==========

``jpeg`` is an alias for both JPEG variants and ``avif`` for ``avif444``.

Threads: multi-threaded encoders (AVIF, JPEG XL) get the ``threads`` argument (the runner passes
1 when several worker processes run side by side, so each point is timed on one core).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from licodec.errors import InvalidOptionError

__all__ = ["Codec", "CLASSICAL", "ALIASES", "classical_codec", "library_versions"]

EncodeFn = Callable[[np.ndarray, float, int], bytes]
DecodeFn = Callable[[bytes, int], np.ndarray]


@dataclass(frozen=True)
class Codec:
    """One codec the runner can evaluate.

    ``encode(rgb, setting, threads) -> bytes`` returns a complete file; ``decode(data, threads)``
    returns an H x W x 3 uint8 array. ``setting_range`` is the closed interval of valid settings;
    ``higher_is_better`` tells whether a larger setting means higher quality (JPEG XL distance: no).
    """

    name: str
    label: str
    setting_name: str
    default_settings: tuple[float, ...]
    setting_range: tuple[float, float]
    suffix: str
    description: str
    encode: EncodeFn = field(repr=False, compare=False)
    decode: DecodeFn = field(repr=False, compare=False)
    higher_is_better: bool = True

    def check_setting(self, value: float) -> float:
        lo, hi = self.setting_range
        if not (lo <= value <= hi):
            raise InvalidOptionError(
                f"{self.name}: {self.setting_name} {value:g} is outside [{lo:g}, {hi:g}]")
        return float(value)


def _pil_decode(data: bytes, threads: int = 1) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im.load()
        rgb = im.convert("RGB")
    return np.asarray(rgb, dtype=np.uint8)


def _pil_save(rgb: np.ndarray, fmt: str, **options) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format=fmt, **options)
    return buf.getvalue()


def _jpeg(subsampling: int) -> EncodeFn:
    def encode(rgb: np.ndarray, setting: float, threads: int = 1) -> bytes:
        return _pil_save(rgb, "JPEG", quality=int(round(setting)), subsampling=subsampling,
                         optimize=True)
    return encode


def _webp_encode(rgb: np.ndarray, setting: float, threads: int = 1) -> bytes:
    return _pil_save(rgb, "WEBP", quality=float(setting), method=6, lossless=False)


def _avif_encode(rgb: np.ndarray, setting: float, threads: int = 1) -> bytes:
    return _pil_save(rgb, "AVIF", quality=int(round(setting)), subsampling="4:4:4", speed=4,
                     range="full", max_threads=max(1, int(threads)))


def _jpeg2000_encode(rgb: np.ndarray, setting: float, threads: int = 1) -> bytes:
    ratio = 24.0 / float(setting)  # 24 bits per pixel in, `setting` bits per pixel out
    return _pil_save(rgb, "JPEG2000", quality_mode="rates", quality_layers=[ratio],
                     irreversible=True, mct=1)


def _jpegxl_encode(rgb: np.ndarray, setting: float, threads: int = 1) -> bytes:
    import imagecodecs

    return bytes(imagecodecs.jpegxl_encode(np.ascontiguousarray(rgb), distance=float(setting),
                                           numthreads=max(1, int(threads))))


def _jpegxl_decode(data: bytes, threads: int = 1) -> np.ndarray:
    import imagecodecs

    out = np.asarray(imagecodecs.jpegxl_decode(data, numthreads=max(1, int(threads))))
    if out.dtype != np.uint8:
        raise ValueError(f"JPEG XL decoded to {out.dtype}, expected uint8")
    return out


_JPEG_Q = (5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0)

CLASSICAL: dict[str, Codec] = {
    c.name: c
    for c in (
        Codec("jpeg444", "JPEG 4:4:4", "quality", _JPEG_Q, (1, 100), "jpg",
              "Pillow JPEG, quality q, subsampling=0 (4:4:4), optimize=True", _jpeg(0), _pil_decode),
        Codec("jpeg420", "JPEG 4:2:0", "quality", _JPEG_Q, (1, 100), "jpg",
              "Pillow JPEG, quality q, subsampling=2 (4:2:0), optimize=True", _jpeg(2), _pil_decode),
        Codec("webp", "WebP", "quality", (0.0, 5.0, 10.0, 20.0, 35.0, 50.0, 65.0, 75.0, 85.0, 90.0),
              (0, 100), "webp", "Pillow WebP (lossy, 4:2:0), quality q, method=6",
              _webp_encode, _pil_decode),
        Codec("avif444", "AVIF 4:4:4", "quality",
              (10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 88.0), (0, 100), "avif",
              "Pillow AVIF (libavif), quality q, subsampling='4:4:4', speed=4, range=full",
              _avif_encode, _pil_decode),
        Codec("jpeg2000", "JPEG 2000", "target bpp",
              (0.1, 0.15, 0.25, 0.375, 0.5, 0.75, 1.0, 1.5, 2.0), (0.01, 24.0), "jp2",
              "Pillow JPEG 2000 (OpenJPEG) .jp2, irreversible=True (9/7), mct=1, "
              "quality_mode='rates', quality_layers=[24/bpp]", _jpeg2000_encode, _pil_decode),
        Codec("jpegxl", "JPEG XL", "distance",
              (15.0, 10.0, 7.0, 5.0, 3.5, 2.5, 1.75, 1.25, 0.9), (0.01, 25.0), "jxl",
              "imagecodecs JPEG XL (libjxl), distance d, default effort (7), codestream",
              _jpegxl_encode, _jpegxl_decode, higher_is_better=False),
    )
}

#: Names that expand to one or more registry entries.
ALIASES: dict[str, tuple[str, ...]] = {
    "jpeg": ("jpeg444", "jpeg420"),
    "jpg": ("jpeg444", "jpeg420"),
    "avif": ("avif444",),
    "j2k": ("jpeg2000",),
    "jp2": ("jpeg2000",),
    "jxl": ("jpegxl",),
}


def classical_codec(name: str) -> Codec:
    """The registry entry ``name`` (no aliases); :class:`InvalidOptionError` if unknown."""
    try:
        return CLASSICAL[name]
    except KeyError:
        raise InvalidOptionError(
            f"unknown codec '{name}' (known: lic:MODEL, {', '.join(CLASSICAL)}, "
            f"{', '.join(ALIASES)})") from None


def library_versions() -> dict[str, str]:
    """Versions of the libraries behind the classical codecs (recorded in every results file)."""
    out: dict[str, str] = {}
    try:
        import PIL
        from PIL import features

        out["pillow"] = PIL.__version__
        for key, feat in (("libjpeg", "jpg"), ("libwebp", "webp"), ("libavif", "avif"),
                          ("openjpeg", "jpg_2000")):
            try:
                out[key] = str(features.version(feat))
            except Exception:  # pragma: no cover - feature missing from this Pillow build
                out[key] = "unavailable"
    except ImportError:  # pragma: no cover
        pass
    try:
        import imagecodecs

        out["imagecodecs"] = imagecodecs.__version__
        out["libjxl"] = str(imagecodecs.jpegxl_version())
    except Exception:  # pragma: no cover
        out["libjxl"] = "unavailable"
    return out
