"""Channel-wise autoregressive entropy model: Minnen & Singh, "Channel-wise autoregressive
entropy models for learned image compression", ICIP 2020.

The latent y (M = 320 channels) is split into S = 10 slices of M/S channels, coded one after
the other. Two hyper-decoders give ψ_μ = h_μ(ẑ) and ψ_σ = h_σ(ẑ) (the paper's architecture figure:
separate mean and scale hyper-synthesis). For slice s, with ŷ_<s the slices decoded before it ("channel-conditioning",
CC):

    μ_s = f_μ,s(ψ_μ, ŷ_<s),   σ_s = f_σ,s(ψ_σ, ŷ_<s),
    p(ŷ_s | ẑ, ŷ_<s) = ∏_i (N(μ_s,i, σ_s,i²) ∗ U(−½, ½))(ŷ_s,i),   ȳ_s = round(y_s − μ_s) + μ_s,

and latent residual prediction ("LRP") adds r_s = ½·tanh(f_r,s(ψ_μ, ŷ_<s, ȳ_s)) to get
ŷ_s = ȳ_s + r_s, which is what g_s and the later slices see. The slice transforms f_μ, f_σ, f_r
are three convolutions (224 5×5, 128 5×5, M/S 3×3) with ReLU, as in TensorFlow Compression's
reference ``ms2020`` model; the analysis/synthesis are the GDN transforms with N = 192, M = 320.

Exact decoding. Everything from ẑ to (μ_s, σ_s) and to r_s is built from exact fixed-point
layers (:mod:`licodec.layers.exact`) and ReLU: h_μ, h_σ, f_μ, f_σ and f_r. The LRP
nonlinearity ½·tanh is not exact (libm tanh differs between machines), and r_s feeds ŷ_s and
hence every later slice's parameters. It is replaced by the hard-tanh ``clamp(t, −½, ½)``
applied to f_r's output t: t lies on the activation grid 2^-8, so the clamp is exact and r_s
stays on the grid. This is ½·hardtanh(2t) — the same ±½ saturation as ½·tanh, with the
factor 2 of the linear part absorbed by f_r's last layer (slope 1 instead of ½ at 0).
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor, nn

from licodec.coding.ans import SymbolDecoder, SymbolEncoder
from licodec.entropy_models import FactorizedDensity, GaussianConditional
from licodec.layers import conv
from licodec.layers.exact import exact_conv, exact_deconv
from licodec.models.base import LAMBDAS_MSE, HyperpriorModel
from licodec.transforms.gdn import analysis, synthesis

LRP_BOUND = 0.5  # |r_s| <= ½, as with ½·tanh


def _slice_transform(cin: int, cout: int) -> nn.Sequential:
    """f_μ / f_σ / f_r of one slice (TFC ms2020 widths: 224, 128, slice depth), exact with ReLU."""
    return nn.Sequential(
        exact_conv(cin, 224, 5, 1), nn.ReLU(),
        exact_conv(224, 128, 5, 1), nn.ReLU(),
        exact_conv(128, cout, 3, 1),
    )


def _hyper_synthesis(N: int, M: int) -> nn.Sequential:
    """h_μ / h_σ: two 5×5 stride-2 transposed convolutions (192, 256) and a 3×3 to M, each with
    ReLU — also the last: the output is a feature map for the slice transforms, not μ or σ
    themselves (as in TFC's ms2020). Exact."""
    return nn.Sequential(
        exact_deconv(N, 192), nn.ReLU(), exact_deconv(192, 256), nn.ReLU(), exact_conv(256, M, 3, 1), nn.ReLU(),
    )


def lrp_clamp(t: Tensor) -> Tensor:
    """The exact stand-in for ½·tanh in latent residual prediction: clamp(t, −½, ½) (see module doc)."""
    return t.clamp(-LRP_BOUND, LRP_BOUND)


# code(slice index, y_s or None, σ_s, μ_s) -> (ȳ_s, likelihoods or None)
_Coder = Callable[[int, "Tensor | None", Tensor, Tensor], "tuple[Tensor, Tensor | None]"]


class ChannelAutoregressive(HyperpriorModel):
    """Minnen & Singh, ICIP 2020: channel-conditional Gaussian entropy model with LRP.

    ``num_slices`` slices of ``M // num_slices`` channels; slice s is conditioned on all
    earlier slices (``max_support_slices=-1``, the default), or on the first
    min(s, ``max_support_slices``) slices (the paper's appendix C.1; TFC's default is 5).
    Training uses the paper's "mixed quantization": the rate of y_s + U(−½, ½), and
    round(y_s − μ_s) + μ_s with a straight-through gradient for everything downstream (LRP,
    later slices, g_s). ``strings[0]`` holds the slices in order (each channel-major),
    ``strings[1]`` holds ẑ.
    """

    name = "ms2020"
    paper = "Minnen & Singh, Channel-wise autoregressive entropy models for learned image compression, ICIP 2020"
    downsample = 64

    def __init__(self, N: int = 192, M: int = 320, num_slices: int = 10, max_support_slices: int = -1,
                 lambdas: tuple[float, ...] = LAMBDAS_MSE):
        super().__init__(N, M, lambdas)
        if num_slices < 1 or M % num_slices:
            raise ValueError(f"M={M} must split into {num_slices} equal slices")
        self.num_slices = num_slices
        self.max_support_slices = max_support_slices
        depth = M // num_slices
        self.g_a = analysis(N, M)
        self.g_s = synthesis(N, M)
        # h_a (TFC ms2020 widths); encoder side only, so plain float layers.
        self.h_a = nn.Sequential(
            conv(M, M, 3, 1), nn.ReLU(inplace=True), conv(M, 256), nn.ReLU(inplace=True), conv(256, N),
        )
        self.h_mean = _hyper_synthesis(N, M)
        self.h_scale = _hyper_synthesis(N, M)
        support = [M + depth * self._num_support(s) for s in range(num_slices)]
        self.cc_mean = nn.ModuleList(_slice_transform(c, depth) for c in support)
        self.cc_scale = nn.ModuleList(_slice_transform(c, depth) for c in support)
        self.lrp = nn.ModuleList(_slice_transform(c + depth, depth) for c in support)
        self.z_density = FactorizedDensity(N)
        self.gaussian = GaussianConditional()

    def config(self) -> dict[str, Any]:
        return {**super().config(), "num_slices": self.num_slices, "max_support_slices": self.max_support_slices}

    def _num_support(self, s: int) -> int:
        return s if self.max_support_slices < 0 else min(s, self.max_support_slices)

    def _slices(self, z_hat: Tensor, y: Tensor | None, code: _Coder) -> tuple[Tensor, list[Tensor]]:
        """Run the slices in order; ``code`` quantizes/codes one slice given (σ_s, μ_s).
        Returns ŷ (with LRP) and the slices' likelihoods (if ``code`` gives them)."""
        mu_h, sigma_h = self.h_mean(z_hat), self.h_scale(z_hat)
        y_slices = y.chunk(self.num_slices, dim=1) if y is not None else [None] * self.num_slices
        decoded: list[Tensor] = []
        likelihoods: list[Tensor] = []
        for s, y_s in enumerate(y_slices):
            support = decoded[: self._num_support(s)]
            mean_in = torch.cat([mu_h, *support], dim=1)
            mu = self.cc_mean[s](mean_in)
            sigma = self.cc_scale[s](torch.cat([sigma_h, *support], dim=1))
            y_bar, lik = code(s, y_s, sigma, mu)
            if lik is not None:
                likelihoods.append(lik)
            residual = lrp_clamp(self.lrp[s](torch.cat([mean_in, y_bar], dim=1)))
            decoded.append(y_bar + residual)
        return torch.cat(decoded, dim=1), likelihoods

    # -- the entropy model of ŷ ----------------------------------------------------------------
    def _forward_y(self, y: Tensor, z_hat: Tensor) -> tuple[Tensor, Tensor]:
        y_hat, y_liks = self._slices(z_hat, y, lambda s, y_s, sigma, mu: self.gaussian(y_s, sigma, mu))
        return y_hat, torch.cat(y_liks, dim=1)

    def _compress_y(self, y: Tensor, z_hat: Tensor, encoder: SymbolEncoder) -> Tensor:
        return self._slices(
            z_hat, y, lambda s, y_s, sigma, mu: (self.gaussian.compress(y_s, sigma, mu, encoder), None))[0]

    def _decompress_y(self, z_hat: Tensor, decoder: SymbolDecoder) -> Tensor:
        return self._slices(
            z_hat, None, lambda s, y_s, sigma, mu: (self.gaussian.decompress(decoder, sigma, mu), None))[0]
