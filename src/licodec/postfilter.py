"""Post-filter: a per-image Wiener filter that the encoder fits and sends in the file.

The synthesis transform is trained for the average training image. On one particular image its
8-bit output x̂ still makes errors that are correlated with x̂ itself: colour casts, ringing,
blur. The encoder finds the linear filter that best predicts the error x − x̂ from x̂. That filter
is the least-squares (Wiener–Hopf) solution. The encoder quantizes it and sends it in about a
hundred bytes; the decoder applies it to its output. This is the adaptive loop filter of video
coding (Tsai et al., "Adaptive loop filtering for video coding", IEEE J. Sel. Topics Signal
Process. 2013; VVC's ALF) moved outside the loop to a learned decoder's output. It is
cross-component, because the synthesis transform mixes colours.

For output channel c at pixel n, with x̂ the decoder's 8-bit picture (edges replicated)::

    e_c(n) = Σ_c' Σ_{o ∈ O_r} w[c,c',o] · (x̂_c'(n+o) + x̂_c'(n−o) − 2·x̂_c'(n))
           + Σ_c' v[c,c'] · (x̂_c'(n) − 128) + b[c]
    y_c(n) = clip(x̂_c(n) + ⌊(e_c(n) + 2^(s−1)) / 2^s⌋, 0, 255)

O_r is half of the (2r+1)² window: the offsets (i, j) ≠ (0, 0) with (i, j) > (0, 0)
lexicographically. The filter is point-symmetric like ALF's, which halves its coefficients.
The spatial taps act on second differences, so they leave flat areas alone and can be coded
coarsely. v is a 3×3 colour matrix and b a bias. All the coefficients are integers in units of
2^−s. The decoder's arithmetic is therefore exact integer arithmetic, and every decoder that
holds the same x̂ produces the same output.

The encoder's choice (:func:`fit`): for every radius r in 1 … 4 and every precision s, it
quantizes the least-squares filter and estimates the rate–distortion cost
J = bits + λ·SSE/3 (SSE in 8-bit units over the three channels: the training loss
λ·255²·MSE + bpp, times the pixel count). It keeps the cheapest, and sends no filter at all
when that one does not lower J below the unfiltered picture's.

Payload (``.lic`` version 3, :mod:`licodec.coding.container`): one byte r, one byte
s | k << 4, then every coefficient as a zigzag-mapped Exp-Golomb code of order k. The order is:
for c in 0..2: w[c,0,O_r], w[c,1,O_r], w[c,2,O_r], v[c,0..2], b[c]. The bits are zero-padded
to a byte.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from licodec.coding.escape import BitReader, BitWriter
from licodec.errors import CorruptFileError

#: Radii the encoder tries, and the precisions 2^−s.
RADII = (1, 2, 3, 4)
SHIFTS = tuple(range(4, 13))
#: Largest coefficient magnitude a file may hold. It keeps |e_c(n)| far below 2^53 and 2^63.
MAX_COEF = 1 << 20
_MAX_ORDER = 7


def offsets(radius: int) -> list[tuple[int, int]]:
    """O_r: the half window, in raster order."""
    return [(i, j) for i in range(-radius, radius + 1) for j in range(-radius, radius + 1) if (i, j) > (0, 0)]


def n_coefficients(radius: int) -> int:
    """Coefficients per output channel: 3·|O_r| spatial taps, 3 colour taps and a bias."""
    return 3 * len(offsets(radius)) + 4


@dataclass(frozen=True)
class PostFilter:
    """A quantized filter: ``coefs`` is (3, :func:`n_coefficients`) int64 in units of 2^−shift."""

    radius: int
    shift: int
    coefs: np.ndarray

    def kernel(self) -> tuple[np.ndarray, np.ndarray]:
        """The filter as an integer convolution: kernel (3, 3, 2r+1, 2r+1) and bias (3,), so that
        e = kernel ⊛ x̂ + bias."""
        r = self.radius
        offs = offsets(r)
        k = np.zeros((3, 3, 2 * r + 1, 2 * r + 1), np.int64)
        bias = self.coefs[:, -1].copy()
        for c in range(3):
            for cc in range(3):
                w = self.coefs[c, cc * len(offs) : (cc + 1) * len(offs)]
                for (i, j), wi in zip(offs, w):
                    k[c, cc, r + i, r + j] += wi
                    k[c, cc, r - i, r - j] += wi
                v = self.coefs[c, 3 * len(offs) + cc]
                k[c, cc, r, r] += v - 2 * w.sum()
                bias[c] -= 128 * v
        return k, bias

    def apply(self, image: np.ndarray) -> np.ndarray:
        """The filtered picture: H×W×3 uint8 in, H×W×3 uint8 out (exact integer arithmetic)."""
        r = self.radius
        kernel, bias = self.kernel()
        x = torch.from_numpy(image).permute(2, 0, 1)[None].double()
        # Every operand and partial sum is an integer below 2^53 (MAX_COEF), so float64 products
        # and sums are exact in any order: this is integer arithmetic, done by a convolution.
        acc = F.conv2d(F.pad(x, (r, r, r, r), mode="replicate"), torch.from_numpy(kernel).double(),
                       torch.from_numpy(bias).double())
        e = torch.floor((acc + (1 << self.shift >> 1)) / (1 << self.shift))
        return (x + e).clamp(0, 255)[0].permute(1, 2, 0).to(torch.uint8).numpy()

    def to_bytes(self) -> bytes:
        zig = _zigzag(self.coefs.reshape(-1))
        order = _best_order(zig)
        writer = BitWriter()
        for z in zig.tolist():
            writer.write_gamma(z >> order)
            writer.write_bits(z & ((1 << order) - 1), order)
        return bytes([self.radius, self.shift | order << 4]) + writer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> PostFilter:
        """Parse a payload; :class:`~licodec.errors.CorruptFileError` if it is malformed."""
        if len(data) < 2 or data[0] not in RADII or (data[1] & 15) not in SHIFTS or data[1] >> 4 > _MAX_ORDER:
            raise CorruptFileError("post-filter is corrupted (header)")
        radius, shift, order = data[0], data[1] & 15, data[1] >> 4
        reader = BitReader(data[2:], what="post-filter")
        zig = np.array([reader.read_gamma() << order | reader.read_bits(order)
                        for _ in range(3 * n_coefficients(radius))], np.int64)
        if not reader.at_end():
            raise CorruptFileError("post-filter is corrupted (trailing bits)")
        coefs = np.where(zig & 1, -(zig + 1) // 2, zig // 2)
        if np.abs(coefs).max() > MAX_COEF:
            raise CorruptFileError("post-filter is corrupted (coefficient out of range)")
        return cls(radius, shift, coefs.reshape(3, -1))


def _zigzag(v: np.ndarray) -> np.ndarray:
    return np.where(v >= 0, 2 * v, -2 * v - 1)


def _bits(zig: np.ndarray, order: int) -> int:
    """Exact length of the codes: gamma(z >> k) then k bits."""
    q = zig >> order
    return int(np.sum(2 * np.floor(np.log2(q + 1)).astype(np.int64) + 1 + order))


def _best_order(zig: np.ndarray) -> int:
    """The Exp-Golomb order that codes ``zig`` in the fewest bits."""
    return min(range(_MAX_ORDER + 1), key=lambda k: _bits(zig, k))


def payload_bits(coefs: np.ndarray) -> int:
    """Bits of a filter's payload before byte padding: 16 header bits and the best order's codes."""
    zig = _zigzag(coefs.reshape(-1))
    return 16 + _bits(zig, _best_order(zig))


def _features(padded: np.ndarray, r: int, lo: int, hi: int) -> np.ndarray:
    """The regressors of picture rows lo … hi−1 for radius r, (3·|O_r| + 4, pixels) float64, from
    the picture ``padded`` by r (3, H+2r, W+2r); a smaller radius's regressors are a subset of
    these (:func:`_columns`)."""
    w = padded.shape[2] - 2 * r
    offs = offsets(r)
    feats = np.empty((3 * len(offs) + 4, hi - lo, w))
    centre = padded[:, r + lo : r + hi, r : r + w]
    for cc in range(3):
        for n, (i, j) in enumerate(offs):
            out = feats[cc * len(offs) + n]
            np.add(padded[cc, r + lo + i : r + hi + i, r + j : r + w + j],
                   padded[cc, r + lo - i : r + hi - i, r - j : r + w - j], out=out)
            out -= 2 * centre[cc]
    np.subtract(centre, 128, out=feats[3 * len(offs) : 3 * len(offs) + 3])
    feats[-1] = 1
    return feats.reshape(len(feats), -1)


def _columns(radius: int, max_radius: int) -> np.ndarray:
    """Indices, among the regressors of ``max_radius``, of those of ``radius`` in payload order."""
    big = offsets(max_radius)
    keep = [n for n, (i, j) in enumerate(big) if max(abs(i), abs(j)) <= radius]
    spatial = [cc * len(big) + n for cc in range(3) for n in keep]
    tail = 3 * len(big)
    return np.array(spatial + [tail, tail + 1, tail + 2, tail + 3])


def fit(decoded: np.ndarray, original: np.ndarray, lam: float, radii: tuple[int, ...] = RADII) -> PostFilter | None:
    """The filter that minimizes J = bits + λ·SSE/3 for this picture, or ``None`` when no filter
    lowers J. ``decoded`` and ``original`` are H×W×3 uint8; ``lam`` is the model's λ at the
    quality the picture was coded at."""
    h, w = decoded.shape[:2]
    r_max = max(radii)
    target = original.astype(np.float64) - decoded.astype(np.float64)
    n = n_coefficients(r_max)
    gram, cross = np.zeros((n, n)), np.zeros((n, 3))
    padded = np.pad(decoded.astype(np.float64).transpose(2, 0, 1), ((0, 0), (r_max, r_max), (r_max, r_max)), mode="edge")
    step = max(1, 65536 // w)
    for lo in range(0, h, step):
        hi = min(h, lo + step)
        feats = _features(padded, r_max, lo, hi)
        gram += feats @ feats.T
        cross += feats @ target[lo:hi].reshape(-1, 3)
    energy = float(np.square(target).sum())  # the SSE without a filter
    best_cost, best = lam * energy / 3, None
    for radius in radii:
        idx = _columns(radius, r_max)
        g, b = gram[np.ix_(idx, idx)], cross[idx]
        ridge = 1e-6 * np.trace(g) / len(idx) * np.eye(len(idx))
        solution = np.linalg.solve(g + ridge, b)  # (features, 3)
        for shift in SHIFTS:
            q = np.clip(np.round(solution * (1 << shift)), -MAX_COEF, MAX_COEF).astype(np.int64)
            wq = q / (1 << shift)
            # the quadratic form of least squares, plus about 1/12 per value for rounding the output
            sse = energy - 2 * float(np.sum(b * wq)) + float(np.einsum("fc,fg,gc->", wq, g, wq)) + h * w * 3 / 12
            cost = payload_bits(q.T) + 16 + lam * sse / 3  # 16: the container's length field
            if cost < best_cost:
                best_cost, best = cost, PostFilter(radius, shift, np.ascontiguousarray(q.T))
    if best is None:
        return None
    # the estimate ignores clipping and the exact rounding: keep the filter only if it really pays
    sse = float(np.square(original.astype(np.float64) - best.apply(decoded)).sum())
    bits = 8 * (len(best.to_bytes()) + 2)
    return best if bits + lam * sse / 3 < lam * energy / 3 else None
