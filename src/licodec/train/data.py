"""Random-crop image-folder dataset whose samples are a pure function of (seed, sample number).

Sample k of a run always gets the same image, crop and flips, whatever the number of loader
workers or distributed ranks — so ``--resume`` continues exactly where a run stopped.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset, Sampler

from licodec.errors import InvalidOptionError
from licodec.image_io import load_image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".ppm"}


def list_images(root: str | Path) -> list[Path]:
    root = Path(root)
    if not root.is_dir():
        raise InvalidOptionError(f"not a directory: {root}")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise InvalidOptionError(f"no images found in {root}")
    return files


class RandomCrops(Dataset):
    """``dataset[k]`` is a (3, patch, patch) float crop in [0, 1] drawn with seed (seed, k).
    Images smaller than the patch are padded by edge replication; unreadable files are skipped
    with a warning.

    With ``downscale`` S > 1 each crop covers a square S' times the patch (S' uniform in [1, S],
    as far as the image allows) shrunk to the patch with an antialiasing filter and rounded to
    8 bits: the random downsampling Ballé et al. (ICLR 2018, sec. 4) apply to JPEG training
    images to wash out their compression artifacts."""

    def __init__(self, root: str | Path, patch: int, seed: int = 0, cache: bool = True, downscale: float = 1.0):
        self.files = list_images(root)
        self.patch = patch
        self.downscale = downscale
        self.seed = seed
        self.cache = cache
        self._images: dict[int, np.ndarray | None] = {}

    def __len__(self) -> int:  # nominal: samples are indexed by an unbounded counter
        return len(self.files)

    def _image(self, i: int) -> np.ndarray | None:
        if i in self._images:
            return self._images[i]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                arr, _ = load_image(self.files[i])
        except (ValueError, OSError) as exc:
            warnings.warn(f"skipping unreadable training image {self.files[i].name}: {exc}", stacklevel=2)
            arr = None
        if self.cache or arr is None:
            self._images[i] = arr
        return arr

    def __getitem__(self, key: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + int(key))
        for _ in range(100):
            arr = self._image(int(torch.randint(len(self.files), (1,), generator=g)))
            if arr is not None:
                break
        else:
            raise InvalidOptionError("no readable training images")
        h, w = arr.shape[:2]
        p = r = self.patch
        if self.downscale > 1:
            s = 1 + (self.downscale - 1) * float(torch.rand((), generator=g))
            r = max(p, min(round(p * s), h, w))
        top = int(torch.randint(max(h - r, 0) + 1, (1,), generator=g))
        left = int(torch.randint(max(w - r, 0) + 1, (1,), generator=g))
        crop = torch.from_numpy(np.array(arr[top : top + r, left : left + r])).permute(2, 0, 1).float() / 255
        if r > p:
            crop = F.interpolate(crop[None], size=(p, p), mode="bicubic", antialias=True)[0]
            crop = (crop * 255).round().clamp(0, 255) / 255
        if crop.shape[1] < p or crop.shape[2] < p:
            crop = F.pad(crop[None], (0, p - crop.shape[2], 0, p - crop.shape[1]), mode="replicate")[0]
        flips = torch.randint(2, (2,), generator=g)
        if flips[0]:
            crop = crop.flip(2)
        if flips[1]:
            crop = crop.flip(1)
        return crop


class CounterSampler(Sampler[int]):
    """Yields sample numbers start, start+1, … for one rank of ``world`` (interleaved by batch)."""

    def __init__(self, start_batch: int, batch: int, rank: int = 0, world: int = 1):
        self.start_batch, self.batch, self.rank, self.world = start_batch, batch, rank, world

    def __iter__(self):
        b = self.start_batch
        while True:
            base = (b * self.world + self.rank) * self.batch
            yield from range(base, base + self.batch)
            b += 1

    def __len__(self) -> int:  # pragma: no cover - unbounded
        return 2**62


def load_eval_images(root: str | Path, limit: int | None = None) -> list[np.ndarray]:
    """Up to ``limit`` readable images of a folder as RGB arrays (unreadable ones skipped, warned)."""
    out = []
    for f in list_images(root):
        if limit and len(out) >= limit:
            break
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out.append(load_image(f)[0])
        except (ValueError, OSError) as exc:
            warnings.warn(f"skipping unreadable validation image {f.name}: {exc}", stacklevel=2)
    return out


def _pil_check() -> None:  # keep Pillow's decompression-bomb guard for huge training files
    Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, 200_000_000)


_pil_check()
