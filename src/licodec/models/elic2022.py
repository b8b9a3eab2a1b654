"""He, Yang, Peng, Ma, Qin & Wang, "ELIC: Efficient learned image compression with unevenly
grouped space-channel contextual adaptive coding", CVPR 2022.

* Transforms: 5×5 stride-2 (de)convolutions with three residual bottleneck
  blocks per stage and simplified attention modules (:mod:`licodec.transforms.residual`);
  N = 192, M = 320; mean-scale hyperprior (h_s → ψ, 2M channels).
* Entropy model — the space-channel context (SCCTX): ŷ is split along channels into *uneven*
  groups 16, 16, 32, 64, M − 128. Group k is coded conditioned on
  - ψ = h_s(ẑ) (hyperprior),
  - the channel context g_ch,k(ŷ^{<k}) of *all* earlier groups (three 5×5 convolutions
    Σ_{j<k} c_j → 224 → 128 → 2c_k, as CompressAI's ``Elic2022Official``), and
  - a checkerboard spatial context inside the group (He et al., "Checkerboard context model
    for efficient learned image compression", CVPR 2021): *anchors* ((i + j) even,
    :func:`~licodec.layers.masked.anchor_mask`) are coded first with a zero spatial context,
    then *non-anchors* with a 5×5 checkerboard-masked convolution (c_k → 2c_k) over the
    decoded anchors.
  A per-group parameter aggregation (three 1×1 convolutions, widths ramping linearly from
  [spatial, channel, ψ] = 2c_k + 2c_k·[k > 0] + 2M to 2c_k, hidden widths at least 2N) gives
  (σ, μ) of a single Gaussian per symbol; symbols round(y − μ) are coded by
  :class:`~licodec.entropy_models.gaussian.GaussianConditional`.

Coding order: group 0 anchors, group 0 non-anchors, group 1 anchors, … — ten steps, each one
batched over the whole group (every position and channel of the half-lattice at once); no
per-position loops. The non-anchor spatial context is evaluated only at non-anchor positions
(:meth:`~licodec.layers.masked.MaskedExactConv2d.at`), the aggregation only at the positions of
the current half.

Exactness: h_s, every channel context, spatial context and aggregation are exact fixed-point
layers with ReLU, so (σ, μ) — and hence ŷ and the scale-table indices — are the same numbers
in encoder and decoder on every machine. ``forward`` in eval mode runs the same ten steps as
``compress`` (same ŷ, same scale-table entries), so its likelihoods are those of the coded
symbols.

``compat="compressai"`` (weights imported from CompressAI's ``Elic2022Official``): ψ has 2N
channels instead of 2M (CompressAI's last h_s layer), the aggregation widths follow
CompressAI's ``sequential_channel_ramp`` (float linspace, floored), and ẑ is median-centred.

Training: the same ten steps with the hard-quantized ŷ = round(y − μ) + μ (straight-through)
feeding the contexts and g_s, and the rate on y + U(−½, ½) ("mixed quantization", Minnen &
Singh, ICIP 2020) — so the contexts see in training exactly what they see when decoding.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor, nn

from licodec.coding.ans import SymbolDecoder, SymbolEncoder
from licodec.entropy_models import GaussianConditional
from licodec.layers.exact import ExactConv2d, exact_conv
from licodec.layers.masked import MaskedExactConv2d, anchor_mask
from licodec.models.base import HyperpriorModel
from licodec.transforms.residual import elic_analysis, elic_hyper_analysis, elic_hyper_synthesis, elic_synthesis

# step(group, half, positions, scales, means) -> ŷ at those positions; tensors (B, c_k, 1, P);
# half 0 = anchors, 1 = non-anchors
_Step = Callable[[int, int, Tensor, Tensor, Tensor], Tensor]


def default_groups(M: int) -> tuple[int, ...]:
    """ELIC's uneven split 16, 16, 32, 64, M − 128."""
    if M <= 128:
        raise ValueError("ELIC's channel groups need M > 128")
    return (16, 16, 32, 64, M - 128)


def _channel_context(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        exact_conv(cin, 224, 5, 1), nn.ReLU(), exact_conv(224, 128, 5, 1), nn.ReLU(), exact_conv(128, cout, 5, 1),
    )


def _aggregation(cin: int, cout: int, min_hidden: int, layers: int = 3, compressai: bool = False) -> nn.Sequential:
    if compressai:  # CompressAI's sequential_channel_ramp: float32 linspace, floored
        widths = torch.linspace(cin, cout, layers + 1).floor().int().tolist()
    else:
        widths = [cin + (cout - cin) * i // layers for i in range(layers + 1)]
    widths = [widths[0]] + [max(w, min_hidden) for w in widths[1:-1]] + [widths[-1]]
    mods: list[nn.Module] = []
    for i in range(layers):
        mods.append(ExactConv2d(widths[i], widths[i + 1], 1))
        if i < layers - 1:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


class ELIC(HyperpriorModel):
    name = "elic2022"
    paper = ("He, Yang, Peng, Ma, Qin & Wang, ELIC: Efficient learned image compression with unevenly grouped "
             "space-channel contextual adaptive coding, CVPR 2022")
    downsample = 64
    # torch 2.13's compiled CPU backward of this model aborts the process (heap corruption in
    # generated code); the forward compiles, and eager training is unaffected.
    compiles = False

    def __init__(self, N: int = 192, M: int = 320, groups: tuple[int, ...] | list[int] | None = None, **kw: Any):
        super().__init__(N, M, **kw)
        self.groups = tuple(int(g) for g in groups) if groups is not None else default_groups(M)
        if sum(self.groups) != M or min(self.groups) <= 0:
            raise ValueError(f"channel groups {self.groups} must be positive and sum to M = {M}")
        self.g_a = elic_analysis(N, M)
        self.g_s = elic_synthesis(N, M)
        self.h_a = elic_hyper_analysis(N, M)
        compat = self.compat == "compressai"
        psi = 2 * N if compat else 2 * M  # CompressAI's h_s ends in 2N channels
        self.h_s = elic_hyper_synthesis(N, M, out=psi)
        self.z_density = self._factorized(N)
        self.gaussian = GaussianConditional()
        g = self.groups
        self.channel_context = nn.ModuleList(_channel_context(sum(g[:k]), 2 * g[k]) for k in range(1, len(g)))
        self.spatial_context = nn.ModuleList(MaskedExactConv2d(c, 2 * c, 5, mask="checkerboard") for c in g)
        self.param_aggregation = nn.ModuleList(
            _aggregation(2 * c + (2 * c if k else 0) + psi, 2 * c, 2 * N, compressai=compat) for k, c in enumerate(g)
        )

    def config(self) -> dict[str, Any]:
        cfg = super().config()
        if self.M <= 128 or self.groups != default_groups(self.M):
            cfg["groups"] = list(self.groups)
        return cfg

    # -- the space-channel context ------------------------------------------------------------------
    def _latent(self, psi: Tensor, step: _Step) -> Tensor:
        """Run the ten coding steps (module docstring); ``step`` quantizes, codes or decodes one
        half of one group given its (σ, μ). Returns ŷ (B, M, H, W)."""
        bsz, _, h, w = psi.shape
        anchors = anchor_mask(h, w).flatten().to(psi.device)
        halves = (torch.nonzero(anchors).flatten(), torch.nonzero(~anchors).flatten())
        rows, cols = halves[1] // w, halves[1] % w
        psi_f = psi.flatten(2)
        done: list[Tensor] = []
        for k, c in enumerate(self.groups):
            if k == 0:
                base = psi_f
            else:
                base = torch.cat([self.channel_context[k - 1](torch.cat(done, 1)).flatten(2), psi_f], 1)
            y_k = psi.new_zeros(bsz, c, h * w)
            for half, pos in enumerate(halves):
                if half == 0:
                    spatial = psi.new_zeros(bsz, 2 * c, len(pos))
                elif self.training:
                    spatial = self.spatial_context[k](y_k.view(bsz, c, h, w)).flatten(2)[:, :, pos]
                else:
                    spatial = self.spatial_context[k].at(y_k.view(bsz, c, h, w), rows, cols)
                params = self.param_aggregation[k](torch.cat([spatial, base[:, :, pos]], 1).unsqueeze(2))
                scales, means = params.chunk(2, 1)
                y_k = y_k.index_copy(2, pos, step(k, half, pos, scales, means).float().squeeze(2))
            done.append(y_k.view(bsz, c, h, w))
        return torch.cat(done, 1)

    def _group_slice(self, k: int) -> slice:
        start = sum(self.groups[:k])
        return slice(start, start + self.groups[k])

    # -- the entropy model of ŷ ----------------------------------------------------------------
    def _forward_y(self, y: Tensor, z_hat: Tensor) -> tuple[Tensor, Tensor]:
        psi = self.h_s(z_hat)
        y_f = y.flatten(2)
        liks: dict[tuple[int, int], Tensor] = {}

        def step(k: int, half: int, pos: Tensor, scales: Tensor, means: Tensor) -> Tensor:
            y_part = y_f[:, self._group_slice(k)][:, :, pos].unsqueeze(2)
            y_hat_part, lik = self.gaussian(y_part, scales, means)
            liks[k, half] = lik.squeeze(2)
            return y_hat_part

        y_hat = self._latent(psi, step)
        return y_hat, self._assemble(liks, psi)

    def _assemble(self, parts: dict[tuple[int, int], Tensor], psi: Tensor) -> Tensor:
        bsz, _, h, w = psi.shape
        anchors = anchor_mask(h, w).flatten().to(psi.device)
        halves = (torch.nonzero(anchors).flatten(), torch.nonzero(~anchors).flatten())
        groups = []
        for k, c in enumerate(self.groups):
            full = parts[k, 0].new_zeros(bsz, c, h * w)
            for half, pos in enumerate(halves):
                full = full.index_copy(2, pos, parts[k, half])
            groups.append(full)
        return torch.cat(groups, 1).view(bsz, self.M, h, w)

    def _compress_y(self, y: Tensor, z_hat: Tensor, encoder: SymbolEncoder) -> Tensor:
        y_f = y.flatten(2)

        def step(k: int, half: int, pos: Tensor, scales: Tensor, means: Tensor) -> Tensor:
            y_part = y_f[:, self._group_slice(k)][:, :, pos].unsqueeze(2)
            return self.gaussian.compress(y_part, scales, means, encoder)

        return self._latent(self.h_s(z_hat), step)

    def _decompress_y(self, z_hat: Tensor, decoder: SymbolDecoder) -> Tensor:
        return self._latent(self.h_s(z_hat), lambda k, half, pos, scales, means:
                            self.gaussian.decompress(decoder, scales, means))
