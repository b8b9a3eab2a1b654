"""High-level API: image in, ``.lic`` bytes out, and back.

>>> import licodec
>>> data = licodec.compress(image)              # PIL image or H×W×3 uint8 array
>>> restored = licodec.decompress(data)         # PIL image, same size (and grayscale stays gray)
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np
import torch
from PIL import Image

from licodec import models
from licodec import orientation as _orientation
from licodec import postfilter as _postfilter
from licodec.coding import container
from licodec.coding.container import Header
from licodec.errors import WeightsMismatchError
from licodec.image_io import image_to_tensor, pad_to_multiple, tensor_to_array, to_rgb_array
from licodec.models.base import CompressionModel


@lru_cache(maxsize=8)
def _cached_model(name: str | None, weights: str | None) -> tuple[CompressionModel, bytes]:
    if weights is None:
        model = models.create(name or models.DEFAULT)
    else:
        model = models.load(weights) if name is None else models.create(name, weights=weights)
    # channels_last: oneDNN's convolutions run faster on it in fp32 too (kodim01, mbt2018-mean, one
    # thread of an AVX-512 Xeon: analysis 0.76 → 0.43 s, synthesis 0.77 → 0.57 s); the exact
    # fixed-point layers compute the same integers in any layout, and the digest is layout-free
    return model.to(memory_format=torch.channels_last), models.state_digest(model)


def get_model(name: str | None = None, weights: str | os.PathLike | None = None) -> tuple[CompressionModel, bytes]:
    """The (cached, eval-mode) model and its weights digest. With ``weights`` and no ``name``,
    the architecture is the one the weights file names."""
    return _cached_model(name, None if weights is None else str(weights))


def compress(image: Image.Image | np.ndarray, model: str | None = None, quality: float | None = None, *,
             weights: str | os.PathLike | None = None, net: CompressionModel | None = None,
             refine: int = 0, orient: bool = False, orientation: int | None = None,
             postfilter: bool = True) -> bytes:
    """Compress an image to the bytes of a complete ``.lic`` file.

    ``model`` is a registry name (default :data:`licodec.models.DEFAULT`); ``quality`` a real
    number in the model's range (default: the model's default); ``weights`` a safetensors file
    to use instead of the shipped weights; ``net`` an already built model (e.g. during training);
    ``refine`` > 0 optimizes the image's latents for that many iterations before coding
    (:mod:`licodec.refine`: smaller files, slower encoding, same decoder); ``orient`` codes the
    image in whichever of its eight rotations and mirror images costs least
    (:mod:`licodec.orientation`: eight more passes of the model per encode, same decoder);
    ``orientation`` (0–7) codes that orientation without a search (rate control searches once);
    ``postfilter`` fits a filter for the decoder's output and sends it when it pays for its bytes
    (:mod:`licodec.postfilter`: one more synthesis pass per encode, a small filter in the decoder).
    """
    arr, channels = to_rgb_array(image)
    own_net = net is not None
    if not own_net:
        net, digest = get_model(model, weights)
    q = net.default_quality if quality is None else float(quality)
    net.quality_tensor(q, 1)  # validates the range
    x = image_to_tensor(arr)
    if orientation is not None:
        k = _orientation.check(orientation)
    else:
        k = _orientation.best_orientation(net, x, q) if orient else 0
    x = pad_to_multiple(_orientation.orient(x, k), net.downsample).contiguous(memory_format=torch.channels_last)
    with torch.no_grad() if refine else torch.inference_mode():  # refinement needs autograd
        enc = net.compress(x, q, refine=refine)
    fitted = None
    if postfilter:
        with torch.inference_mode():
            x_hat = net.reconstruct(enc["y_hat"], q)
        decoded = _picture(x_hat, arr.shape[0], arr.shape[1], k)
        fitted = _postfilter.fit(decoded, arr, net.lam(q))
    if own_net:
        digest = models.state_digest(net)  # after compress, which may have built missing coding tables
    fields = {"model": net.name, "digest": digest, "height": arr.shape[0], "width": arr.shape[1],
              "channels": channels, "quality": q, "shape": tuple(int(v) for v in enc["shape"]), "orientation": k,
              "postfilter": fitted.to_bytes() if fitted else b""}
    return container.pack(fields, enc["strings"])


def decode_array(data: bytes, *, weights: str | os.PathLike | None = None,
                 net: CompressionModel | None = None) -> tuple[np.ndarray, Header]:
    """Decode ``.lic`` bytes to an H×W×3 uint8 array and the parsed header."""
    header, streams = container.unpack(data)
    if net is None:
        net, digest = get_model(header.model, weights)
    else:
        digest = models.state_digest(net)
    if net.name != header.model:
        raise WeightsMismatchError(f"file was coded with '{header.model}', not '{net.name}'")
    if digest != header.digest:
        raise WeightsMismatchError(
            f"file was coded with other '{header.model}' weights (digest {header.digest.hex()}, "
            f"available {digest.hex()})")
    with torch.inference_mode():
        dec = net.decompress(streams, header.shape, header.quality)
    picture = _picture(dec["x_hat"], header.height, header.width, header.orientation)
    if header.postfilter:
        picture = _postfilter.PostFilter.from_bytes(header.postfilter).apply(picture)
    return picture, header


def _picture(x_hat: torch.Tensor, height: int, width: int, k: int) -> np.ndarray:
    """The decoder's 8-bit picture: ``x_hat`` of orientation ``k`` cropped and turned back."""
    h, w = _orientation.oriented_size(height, width, k)
    return tensor_to_array(_orientation.unorient(x_hat[..., :h, :w], k))


def decompress(data: bytes, *, weights: str | os.PathLike | None = None,
               net: CompressionModel | None = None) -> Image.Image:
    """Decode ``.lic`` bytes to a PIL image (mode ``RGB``, or ``L`` for grayscale sources)."""
    arr, header = decode_array(data, weights=weights, net=net)
    image = Image.fromarray(arr, "RGB")
    return image.convert("L") if header.channels == 1 else image


def read_header(data: bytes) -> Header:
    """Parse and verify a ``.lic`` file's header (and checksum) without decoding it."""
    return container.unpack(data)[0]
