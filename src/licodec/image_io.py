"""Reading images into the codec's RGB layout, converting them to and from tensors, and writing
files atomically.

Input conversions (all through Pillow; PNG, JPEG, WebP, BMP, TIFF and anything else Pillow
opens):

============================  ==========================================================
input                         handling
============================  ==========================================================
RGB, 8 bit                    coded as is
grayscale (L, 1-bit)          coded as RGB, decoded back to grayscale (header channels=1)
16-bit / 32-bit gray (I;16…)  scaled to 8 bit with a warning, then as grayscale
RGBA, LA, palette with alpha  alpha dropped with a warning (colour coded as is)
palette (P), CMYK, YCbCr, HSV converted to RGB (palette and YCbCr silently, others with a warning)
float (F)                     rejected: no defined 8-bit range
============================  ==========================================================

Before that, a PIL image is turned upright by its EXIF orientation tag, as viewers show it (a
lossless rotation or mirror image), and an RGB, RGBA or CMYK image with an embedded ICC profile
other than sRGB is converted to sRGB with that profile (with a warning), because the decoded
image carries no profile and is shown as sRGB.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from licodec.errors import ImageReadError


class ConversionWarning(UserWarning):
    """An input image was converted in a way that loses information."""


_EXIF_ORIENTATION = 0x0112
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def upright(image: Image.Image) -> Image.Image:
    """``image`` turned as its EXIF orientation tag says viewers show it (itself if untagged)."""
    try:
        if image.getexif().get(_EXIF_ORIENTATION, 1) in range(2, 9):
            return ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - a broken EXIF block is not the picture
        pass
    return image


def to_srgb(image: Image.Image) -> Image.Image:
    """``image`` in sRGB: converted with its embedded ICC profile when that profile is another
    colour space (RGB, RGBA and CMYK images; a :class:`ConversionWarning` says so)."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        name = ImageCms.getProfileDescription(profile).strip()
        if "srgb" in name.lower():
            return image
        converted = ImageCms.profileToProfile(image, profile, _SRGB, outputMode="RGBA" if image.mode == "RGBA" else "RGB")
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        warnings.warn(f"embedded ICC profile ignored, colours read as sRGB ({exc})", ConversionWarning, stacklevel=3)
        return image
    warnings.warn(f"colours converted to sRGB from the embedded ICC profile '{name}'", ConversionWarning, stacklevel=3)
    return converted


def to_rgb_array(image: Image.Image | np.ndarray) -> tuple[np.ndarray, int]:
    """Return (H×W×3 uint8 array, original channel count 1 or 3)."""
    if isinstance(image, np.ndarray):
        return _array_to_rgb(image)
    if not isinstance(image, Image.Image):
        raise ImageReadError(f"expected a PIL image or a uint8 numpy array, got {type(image).__name__}")
    image = to_srgb(upright(image))
    mode = image.mode
    if mode == "RGB":
        return np.asarray(image, dtype=np.uint8), 3
    if mode in ("L", "1"):
        return np.repeat(np.asarray(image.convert("L"))[..., None], 3, axis=2), 1
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(image).astype(np.float64)
        peak = 65535.0 if arr.max(initial=0) > 255 or mode.startswith("I;16") else 255.0
        warnings.warn(f"{mode} image scaled to 8 bits per sample", ConversionWarning, stacklevel=3)
        gray = np.clip(np.round(arr * 255.0 / peak), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2), 1
    if mode == "F":
        raise ImageReadError("floating-point images are not supported (no defined 8-bit range)")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in image.info):
        warnings.warn("alpha channel dropped (licodec codes colour only)", ConversionWarning, stacklevel=3)
        if mode in ("LA", "La"):
            return np.repeat(np.asarray(image.convert("L"))[..., None], 3, axis=2), 1
        return np.asarray(image.convert("RGBA").convert("RGB"), dtype=np.uint8), 3
    if mode not in ("P", "YCbCr"):
        warnings.warn(f"{mode} image converted to RGB", ConversionWarning, stacklevel=3)
    try:
        return np.asarray(image.convert("RGB"), dtype=np.uint8), 3
    except (ValueError, OSError) as exc:
        raise ImageReadError(f"cannot convert {mode} image to RGB: {exc}") from None


def _array_to_rgb(arr: np.ndarray) -> tuple[np.ndarray, int]:
    if arr.dtype != np.uint8:
        raise ImageReadError(f"numpy images must be uint8, got {arr.dtype}")
    if arr.ndim == 2:
        return np.repeat(arr[..., None], 3, axis=2), 1
    if arr.ndim == 3 and arr.shape[2] == 3:
        return np.ascontiguousarray(arr), 3
    if arr.ndim == 3 and arr.shape[2] == 4:
        warnings.warn("alpha channel dropped (licodec codes colour only)", ConversionWarning, stacklevel=3)
        return np.ascontiguousarray(arr[..., :3]), 3
    raise ImageReadError(f"expected an H×W, H×W×3 or H×W×4 array, got shape {arr.shape}")


def load_image(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Open an image file; raises :class:`ImageReadError` for anything Pillow cannot decode."""
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"no such image file: {path}")
    try:
        with Image.open(path) as im:
            im.load()
            arr, channels = to_rgb_array(im)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        if isinstance(exc, ImageReadError):
            raise
        raise ImageReadError(f"cannot read image {path.name}: {exc}") from None
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageReadError(f"image {path.name} is empty")
    return arr, channels


def image_to_tensor(arr: np.ndarray) -> torch.Tensor:
    """An (H, W, 3) uint8 array as the models' input: (1, 3, H, W) float in [0, 1]."""
    return torch.from_numpy(np.array(arr, dtype=np.uint8, copy=True)).permute(2, 0, 1).unsqueeze(0).float() / 255.0


def tensor_to_array(x: torch.Tensor) -> np.ndarray:
    """The inverse of :func:`image_to_tensor`: clamped to [0, 1] and rounded to 8 bits."""
    return (x[0].clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).numpy()


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """``x`` (…, H, W) padded at the bottom and right by edge replication to multiples of ``multiple``."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    return F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x


def write_atomic_with(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Run ``write(tmp)`` on a temporary file in ``path``'s folder, then rename it to ``path``, so
    a reader never sees a partial file and a failure leaves nothing behind. The file gets the
    usual permissions (0666 less the umask), not the temporary file's private 0600."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`write_atomic_with`), synced to disk."""
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    write_atomic_with(path, write)


#: How the decoded picture is written to formats that would otherwise code it again lossily at
#: their default settings: WebP losslessly, JPEG at quality 95 without chroma subsampling.
SAVE_OPTIONS = {"WEBP": {"lossless": True}, "JPEG": {"quality": 95, "subsampling": 0}}


def save_image_atomic(image: Image.Image, path: str | os.PathLike) -> None:
    """Encode ``image`` in the format its suffix names (PNG if none; options from
    :data:`SAVE_OPTIONS`) and write it atomically."""
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower(), "PNG")
    buf = io.BytesIO()
    try:
        image.save(buf, format=fmt, **SAVE_OPTIONS.get(fmt, {}))
    except (KeyError, OSError, ValueError) as exc:
        raise ImageReadError(f"cannot write {path.suffix or 'image'} output: {exc}") from None
    write_atomic(path, buf.getvalue())
