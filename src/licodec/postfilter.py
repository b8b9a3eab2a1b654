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
           + Σ_k α_k(L(n)) · (Σ_c' v_k[c,c'] · (x̂_c'(n) − 128) + b_k[c])
    y_c(n) = clip(x̂_c(n) + ⌊e_c(n) / 2^s + 1/2⌋, 0, 255)

O_r is half of the (2r+1)² window: the offsets (i, j) ≠ (0, 0) with (i, j) > (0, 0)
lexicographically. The filter is point-symmetric like ALF's, which halves its coefficients.
The spatial taps act on second differences, so they leave flat areas alone and can be coded
coarsely. v_k is a 3×3 colour matrix and b_k a bias, one per tone knot t_1 < … < t_K of the
luma L = R + G + B: α_k are the hat functions of linear interpolation between the knots
(L clamped to [t_1, t_K]), so the colour correction is a piecewise-linear function of the tone.
Shadows and highlights get their own colour casts and contrast. This is a continuous form of
ALF's pixel classification, by intensity instead of activity. With K = 1, α_1 = 1 and there is
one colour matrix. All the coefficients are integers in units of 2^−s. On a knot interval
[t_j, t_j+1] of width D the decoder computes D·e_c(n) exactly in integers, and divides by D·2^s
with one floor division. Every decoder that holds the same x̂ produces the same output.

The encoder's choice (:func:`fit`): for every radius r in 1 … 4, every knot count K in
:data:`KNOT_COUNTS` (knots at the quantiles of the decoded picture's luma) and every precision
s, it quantizes the least-squares filter and estimates the rate–distortion cost
J = bits + λ·SSE/3 (SSE in 8-bit units over the three channels: the training loss
λ·255²·MSE + bpp, times the pixel count). It keeps the cheapest, and sends no filter at all
when that one does not lower J below the unfiltered picture's.

Payload (``.lic`` versions 3 and 4, :mod:`licodec.coding.container`): one byte r | (K − 1) << 4,
one byte s | k << 4, then for K > 1 the knots as 10-bit numbers, then every coefficient as a
zigzag-mapped Exp-Golomb code of order k. The order is: for c in 0..2: w[c,0,O_r], w[c,1,O_r],
w[c,2,O_r], then for each knot v_k[c,0..2], b_k[c]. The bits are zero-padded to a byte. A
filter with K = 1 is exactly a version-3 payload.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from licodec.coding.escape import BitReader, BitWriter
from licodec.errors import CorruptFileError

#: Radii the encoder tries, and the precisions 2^−s.
RADII = (1, 2, 3, 4)
SHIFTS = tuple(range(4, 13))
#: Tone-knot counts the encoder tries (1: one colour matrix and bias for the whole picture).
KNOT_COUNTS = (1, 2, 3, 4, 6, 8)
MAX_KNOTS = 8
#: Largest luma L = R + G + B, and the bits of a knot in the payload.
MAX_LUMA = 765
_KNOT_BITS = 10
#: Largest coefficient magnitude a file may hold. It keeps |e_c(n)|·(t_K − t_1) far below 2^53.
MAX_COEF = 1 << 20
_MAX_ORDER = 7


def offsets(radius: int) -> list[tuple[int, int]]:
    """O_r: the half window, in raster order."""
    return [(i, j) for i in range(-radius, radius + 1) for j in range(-radius, radius + 1) if (i, j) > (0, 0)]


def n_coefficients(radius: int, knots: int = 1) -> int:
    """Coefficients per output channel: 3·|O_r| spatial taps, then a 3×3 colour row and a bias per
    tone knot."""
    return 3 * len(offsets(radius)) + 4 * knots


@dataclass(frozen=True)
class PostFilter:
    """A quantized filter: ``coefs`` is (3, :func:`n_coefficients`) int64 in units of 2^−shift;
    ``knots`` are the tone knots t_1 < … < t_K (K ≥ 2), or () for a single colour matrix and bias."""

    radius: int
    shift: int
    coefs: np.ndarray
    knots: tuple[int, ...] = ()

    @property
    def n_knots(self) -> int:
        return max(1, len(self.knots))

    def apply(self, image: np.ndarray) -> np.ndarray:
        """The filtered picture: H×W×3 uint8 in, H×W×3 uint8 out (exact integer arithmetic)."""
        r, k, n_spatial = self.radius, self.n_knots, 3 * len(offsets(self.radius))
        x = image.transpose(2, 0, 1).astype(np.int64)
        h, w = image.shape[:2]
        padded = np.pad(x.astype(np.float64), ((0, 0), (r, r), (r, r)), mode="edge")
        taps = self.coefs[:, :n_spatial].astype(np.float64)
        spatial = np.empty((3, h * w), np.int64)
        for lo, hi in _row_blocks(h, w):
            feats = np.empty((n_spatial, (hi - lo) * w))
            _features(padded, r, lo, hi, feats)
            # Every operand and partial sum is an integer below 2^53 (MAX_COEF), so the float64
            # products and sums are exact in any order: this is integer arithmetic.
            spatial[:, lo * w : hi * w] = taps @ feats
        spatial = spatial.reshape(3, h, w)
        tone = self.coefs[:, n_spatial:].reshape(3, k, 4)
        p = np.einsum("ckd,dhw->kchw", tone[..., :3], x - 128) + tone[..., 3].T[:, :, None, None]
        if k == 1:
            num, den = spatial + p[0], 1
        else:  # the hat functions of the luma, times the knot interval den
            t = np.asarray(self.knots, np.int64)
            luma = np.clip(x.sum(0), t[0], t[-1])
            seg = np.clip(np.searchsorted(t, luma, side="right") - 1, 0, k - 2)
            below, above = t[seg], t[seg + 1]
            ch, row, col = np.ogrid[:3, :h, :w]
            den = above - below
            num = den * spatial + (above - luma) * p[seg, ch, row, col] + (luma - below) * p[seg + 1, ch, row, col]
        e = (num + den * (1 << self.shift >> 1)) // (den << self.shift)
        return np.clip(x + e, 0, 255).astype(np.uint8).transpose(1, 2, 0)

    def to_bytes(self) -> bytes:
        zig = _zigzag(self.coefs.reshape(-1))
        order = _best_order(zig)
        writer = BitWriter()
        for t in self.knots:
            writer.write_bits(t, _KNOT_BITS)
        for z in zig.tolist():
            writer.write_gamma(z >> order)
            writer.write_bits(z & ((1 << order) - 1), order)
        return bytes([self.radius | (self.n_knots - 1) << 4, self.shift | order << 4]) + writer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> PostFilter:
        """Parse a payload; :class:`~licodec.errors.CorruptFileError` if it is malformed."""
        if (len(data) < 2 or data[0] & 15 not in RADII or data[0] >> 4 >= MAX_KNOTS or (data[1] & 15) not in SHIFTS
                or data[1] >> 4 > _MAX_ORDER):
            raise CorruptFileError("post-filter is corrupted (header)")
        radius, k, shift, order = data[0] & 15, (data[0] >> 4) + 1, data[1] & 15, data[1] >> 4
        reader = BitReader(data[2:], what="post-filter")
        knots = tuple(reader.read_bits(_KNOT_BITS) for _ in range(k)) if k > 1 else ()
        if knots and not (all(a < b for a, b in zip(knots, knots[1:])) and knots[-1] <= MAX_LUMA):
            raise CorruptFileError("post-filter is corrupted (tone knots)")
        zig = np.array([reader.read_gamma() << order | reader.read_bits(order)
                        for _ in range(3 * n_coefficients(radius, k))], np.int64)
        if not reader.at_end():
            raise CorruptFileError("post-filter is corrupted (trailing bits)")
        coefs = np.where(zig & 1, -(zig + 1) // 2, zig // 2)
        if np.abs(coefs).max() > MAX_COEF:
            raise CorruptFileError("post-filter is corrupted (coefficient out of range)")
        return cls(radius, shift, coefs.reshape(3, -1), knots)


def _zigzag(v: np.ndarray) -> np.ndarray:
    return np.where(v >= 0, 2 * v, -2 * v - 1)


def _bits(zig: np.ndarray, order: int) -> int:
    """Exact length of the codes: gamma(z >> k) then k bits."""
    q = zig >> order
    return int(np.sum(2 * np.floor(np.log2(q + 1)).astype(np.int64) + 1 + order))


def _best_order(zig: np.ndarray) -> int:
    """The Exp-Golomb order that codes ``zig`` in the fewest bits."""
    return min(range(_MAX_ORDER + 1), key=lambda k: _bits(zig, k))


def payload_bits(coefs: np.ndarray, knots: int = 1) -> int:
    """Bits of a filter's payload before byte padding: 16 header bits, the knots and the best
    order's codes."""
    zig = _zigzag(coefs.reshape(-1))
    return 16 + (_KNOT_BITS * knots if knots > 1 else 0) + _bits(zig, _best_order(zig))


def quantile_knots(luma: np.ndarray, k: int) -> tuple[int, ...] | None:
    """K knots at the 0, 1/(K−1), …, 1 quantiles of the picture's luma, or ``None`` when two of
    them coincide (a picture with few distinct tones)."""
    s = np.sort(luma, axis=None)
    knots = tuple(int(v) for v in s[np.arange(k) * (s.size - 1) // (k - 1)])
    return knots if all(a < b for a, b in zip(knots, knots[1:])) else None


def _hats(luma: np.ndarray, knots: tuple[int, ...]) -> np.ndarray:
    """The weights α_k(L) of the K knots' hat functions, (K, pixels): the same interpolation as
    :meth:`PostFilter.apply`, in floating point."""
    if not knots:
        return np.ones((1, luma.size))
    t = np.asarray(knots)
    lc = np.clip(luma.ravel(), t[0], t[-1])
    seg = np.clip(np.searchsorted(t, lc, side="right") - 1, 0, len(t) - 2)
    frac = (lc - t[seg]) / (t[seg + 1] - t[seg])
    alpha = np.zeros((len(t), lc.size))
    cols = np.arange(lc.size)
    alpha[seg, cols] = 1 - frac
    alpha[seg + 1, cols] += frac
    return alpha


def _row_blocks(h: int, w: int) -> list[tuple[int, int]]:
    """Row ranges lo … hi−1 of about 32,768 pixels each: the regressors of one block fit in memory."""
    step = max(1, 32768 // w)
    return [(lo, min(h, lo + step)) for lo in range(0, h, step)]


def _features(padded: np.ndarray, r: int, lo: int, hi: int, out: np.ndarray) -> None:
    """Write the spatial regressors of picture rows lo … hi−1 for radius r to ``out``
    (3·|O_r|, pixels), from the picture ``padded`` by r (3, H+2r, W+2r); a smaller radius's
    regressors are a subset of these (:func:`_columns`)."""
    w = padded.shape[2] - 2 * r
    offs = offsets(r)
    feats = out.reshape(len(out), hi - lo, w)
    centre = padded[:, r + lo : r + hi, r : r + w]
    for cc in range(3):
        for n, (i, j) in enumerate(offs):
            out = feats[cc * len(offs) + n]
            np.add(padded[cc, r + lo + i : r + hi + i, r + j : r + w + j],
                   padded[cc, r + lo - i : r + hi - i, r - j : r + w - j], out=out)
            out -= 2 * centre[cc]


def _columns(radius: int, max_radius: int) -> np.ndarray:
    """Indices, among the spatial regressors of ``max_radius``, of those of ``radius`` in payload
    order."""
    big = offsets(max_radius)
    keep = [n for n, (i, j) in enumerate(big) if max(abs(i), abs(j)) <= radius]
    return np.array([cc * len(big) + n for cc in range(3) for n in keep])


def fit(decoded: np.ndarray, original: np.ndarray, lam: float, radii: tuple[int, ...] = RADII,
        knot_counts: tuple[int, ...] = KNOT_COUNTS) -> PostFilter | None:
    """The filter that minimizes J = bits + λ·SSE/3 for this picture, or ``None`` when no filter
    lowers J. ``decoded`` and ``original`` are H×W×3 uint8; ``lam`` is the model's λ at the
    quality the picture was coded at."""
    h, w = decoded.shape[:2]
    r_max = max(radii)
    luma = decoded.astype(np.int64).sum(2)
    candidates = [()] if 1 in knot_counts else []
    candidates += [t for t in (quantile_knots(luma, k) for k in knot_counts if k > 1) if t]
    # the design: the spatial regressors, then for every candidate set of knots its tone
    # regressors α_k(L)·(x̂_c' − 128) and α_k(L), k = 1 … K; then the target x − x̂, so that one
    # matrix product per block of rows accumulates the Gram matrix and the cross-correlations
    n_spatial = 3 * len(offsets(r_max))
    tone_at = np.cumsum([n_spatial] + [4 * max(1, len(t)) for t in candidates])
    n = tone_at[-1]
    target = original.astype(np.float64) - decoded.astype(np.float64)
    moments = np.zeros((n + 3, n + 3))
    padded = np.pad(decoded.astype(np.float64).transpose(2, 0, 1), ((0, 0), (r_max, r_max), (r_max, r_max)), mode="edge")
    for lo, hi in _row_blocks(h, w):
        feats = np.empty((n + 3, (hi - lo) * w))
        _features(padded, r_max, lo, hi, feats[:n_spatial])
        colour = np.concatenate([padded[:, r_max + lo : r_max + hi, r_max : r_max + w].reshape(3, -1) - 128,
                                 np.ones((1, feats.shape[1]))])
        for knots, first, last in zip(candidates, tone_at, tone_at[1:]):
            alpha = _hats(luma[lo:hi], knots)
            np.multiply(alpha[:, None], colour, out=feats[first:last].reshape(len(alpha), 4, -1))
        feats[n:] = target[lo:hi].reshape(-1, 3).T
        moments += feats @ feats.T
    gram, cross = moments[:n, :n], moments[:n, n:]
    energy = float(np.square(target).sum())  # the SSE without a filter
    best_cost, best = lam * energy / 3, None
    for radius in radii:
        for knots, first in zip(candidates, tone_at):
            k = max(1, len(knots))
            idx = np.concatenate([_columns(radius, r_max), np.arange(first, first + 4 * k)])
            g, b = gram[np.ix_(idx, idx)], cross[idx]
            ridge = 1e-6 * np.trace(g) / len(idx) * np.eye(len(idx))
            solution = np.linalg.solve(g + ridge, b)  # (features, 3)
            for shift in SHIFTS:
                q = np.clip(np.round(solution * (1 << shift)), -MAX_COEF, MAX_COEF).astype(np.int64)
                wq = q / (1 << shift)
                # the quadratic form of least squares, plus about 1/12 per value for rounding the output
                sse = energy - 2 * float(np.sum(b * wq)) + float(np.einsum("fc,fg,gc->", wq, g, wq)) + h * w * 3 / 12
                cost = payload_bits(q, k) + 16 + lam * sse / 3  # 16: the container's length field
                if cost < best_cost:
                    best_cost, best = cost, PostFilter(radius, shift, np.ascontiguousarray(q.T), knots)
    if best is None:
        return None
    # the estimate ignores clipping and the exact rounding: keep the filter only if it really pays
    sse = float(np.square(original.astype(np.float64) - best.apply(decoded)).sum())
    bits = 8 * (len(best.to_bytes()) + 2)
    return best if bits + lam * sse / 3 < lam * energy / 3 else None
