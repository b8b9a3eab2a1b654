"""The contract every model shares, and the variable-rate gain units.

Contract (familiar to CompressAI users)::

    out = model(x, quality)                 # {"x_hat", "likelihoods": {"y": ..., "z": ...}}
    enc = model.compress(x, quality)        # {"strings": [bytes, ...], "shape": (h, w), "y_hat"}
    dec = model.decompress(strings, shape, quality)   # {"x_hat", "y_hat"}

``x`` is (B, 3, H, W) in [0, 1] with H and W multiples of :attr:`CompressionModel.downsample`;
``compress``/``decompress`` take one image (B = 1). ``y_hat`` is the quantized latent; the decoder
reproduces it bit for bit because everything between the coded symbols and the entropy
parameters is exact (:mod:`licodec.layers.exact`).

Variable rate: one model covers several rate–distortion trade-offs λ_1 < … < λ_L with gain
vectors on the latent (Cui et al., "Asymmetric gained deep image compression with continuous
rate adaptation", CVPR 2021, sec. 3.2–3.3). ``quality`` is a real number in [1, L]; between two
trained levels the gains are interpolated exponentially (Cui et al., eq. 9):
g = g_i^(1−t) · g_{i+1}^t.

Compatibility (``compat="compressai"``): a model built to hold weights trained with CompressAI
(``lic import-compressai``, :mod:`licodec.convert.compressai`) reproduces CompressAI's layer
layout where ours differs — median-centred factorized densities with CompressAI's four hidden
filter layers, leaky ReLUs (exact, :class:`~licodec.layers.exact.ExactLeakyReLU`) where
CompressAI uses them in the entropy-parameter path, and the model-specific differences each
model documents. The option is part of :meth:`CompressionModel.config`, so a weights file
records it and rebuilds the same model.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from licodec.coding.ans import SymbolDecoder, SymbolEncoder
from licodec.entropy_models.factorized import FactorizedDensity
from licodec.errors import InvalidOptionError

# λ of the eight MSE qualities used across the literature (loss λ·255²·MSE + bpp).
LAMBDAS_MSE = (0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.18)

COMPAT_MODES = ("compressai",)


class QualityGain(nn.Module):
    """Per-level channel gains for the encoder (y·g) and the decoder (ŷ·g'), log-parametrized."""

    def __init__(self, lambdas: tuple[float, ...], channels: int):
        super().__init__()
        lam = torch.tensor(lambdas, dtype=torch.float64)
        # High-rate theory: the best step size scales like 1/sqrt(λ); start the gains there.
        init = (0.5 * torch.log(lam / lam[len(lam) // 2])).float().unsqueeze(1).repeat(1, channels)
        self.log_enc = nn.Parameter(init.clone())
        self.log_dec = nn.Parameter(-init.clone())
        self.register_buffer("lambdas", lam.float())

    @property
    def levels(self) -> int:
        return self.log_enc.shape[0]

    def _interp(self, table: Tensor, quality: Tensor) -> Tensor:
        if self.levels == 1:
            return table[0].expand(quality.shape[0], -1)
        pos = (quality.float() - 1).clamp(0, self.levels - 1)
        i = pos.floor().long().clamp(max=self.levels - 2)
        t = (pos - i.float()).unsqueeze(1)
        return (1 - t) * table[i] + t * table[i + 1]

    def lam(self, quality: Tensor) -> Tensor:
        """λ for each (real) quality, log-linearly interpolated between trained levels."""
        return torch.exp(self._interp(torch.log(self.lambdas).unsqueeze(1), quality)[:, 0])

    def encode(self, y: Tensor, quality: Tensor) -> Tensor:
        return y * torch.exp(self._interp(self.log_enc, quality)).to(y.dtype)[:, :, None, None]

    def decode(self, y_hat: Tensor, quality: Tensor) -> Tensor:
        return y_hat * torch.exp(self._interp(self.log_dec, quality)).to(y_hat.dtype)[:, :, None, None]


class CompressionModel(nn.Module):
    """Base class: the shared contract, quality handling and bookkeeping."""

    name: ClassVar[str] = ""
    paper: ClassVar[str] = ""
    downsample: ClassVar[int] = 64
    #: Whether ``compress(..., refine=N)`` can refine this model's latents (:mod:`licodec.refine`).
    supports_refine: ClassVar[bool] = False
    #: Registry names of smaller models this one can start from: ``models.create`` loads their
    #: tensors into it and :meth:`grow` initializes the rest.
    grows_from: ClassVar[tuple[str, ...]] = ()
    #: Whether ``lic train --compile`` (torch.compile) can train this model.
    compiles: ClassVar[bool] = True

    def __init__(self, N: int, M: int, lambdas: tuple[float, ...] = LAMBDAS_MSE, compat: str | None = None):
        super().__init__()
        if compat is not None and compat not in COMPAT_MODES:
            raise InvalidOptionError(f"unknown compatibility mode {compat!r} (known: {', '.join(COMPAT_MODES)})")
        self.N, self.M = N, M
        self.compat = compat
        self.gain = QualityGain(tuple(lambdas), M)

    # -- configuration --------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"N": self.N, "M": self.M, "lambdas": [round(float(v), 6) for v in self.gain.lambdas]}
        if self.compat is not None:
            cfg["compat"] = self.compat
        return cfg

    def _factorized(self, channels: int) -> FactorizedDensity:
        """The factorized density of this model: ours, or CompressAI's layout under
        ``compat="compressai"`` (filters (3, 3, 3, 3), quantization around per-channel medians)."""
        if self.compat == "compressai":
            return FactorizedDensity(channels, filters=(3, 3, 3, 3), medians=True)
        return FactorizedDensity(channels)

    @property
    def quality_range(self) -> tuple[float, float]:
        return 1.0, float(self.gain.levels)

    _default_quality: float | None = None

    @property
    def default_quality(self) -> float:
        return self._default_quality if self._default_quality is not None else float(min(4, self.gain.levels))

    def lam(self, quality: float) -> float:
        """The rate–distortion trade-off λ of the training loss λ·255²·MSE + bpp at ``quality``."""
        return float(self.gain.lam(torch.tensor([float(quality)]))[0])

    def quality_tensor(self, quality: float | Tensor | None, batch: int) -> Tensor:
        if quality is None:
            quality = self.default_quality
        if isinstance(quality, Tensor):
            return quality.float().reshape(-1).expand(batch) if quality.numel() == 1 else quality.float()
        lo, hi = self.quality_range
        q = float(quality)
        if not (math.isfinite(q) and lo <= q <= hi):
            raise InvalidOptionError(f"quality {quality} is outside this model's range [{lo:g}, {hi:g}]")
        return torch.full((batch,), q)

    def _check_input(self, x: Tensor, single: bool = False) -> None:
        if x.dim() != 4 or x.shape[1] != 3:
            raise InvalidOptionError(f"expected a (B, 3, H, W) tensor, got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        if h % self.downsample or w % self.downsample:
            raise InvalidOptionError(f"{self.name}: height and width must be multiples of {self.downsample}, got {h}x{w}")
        if single and x.shape[0] != 1:
            raise InvalidOptionError("compress takes one image at a time")

    def _analysis(self, x: Tensor, quality: float | Tensor | None) -> tuple[Tensor, Tensor]:
        """(y, q): the gained latent y = g_a(x)·g(q) and the quality tensor q of x's batch."""
        q = self.quality_tensor(quality, x.shape[0])
        return self.gain.encode(self.g_a(x), q), q

    def _synthesis(self, y_hat: Tensor, quality: Tensor) -> Tensor:
        """x̂ = g_s(ŷ·g'(q)), unclamped."""
        return self.g_s(self.gain.decode(y_hat, quality))

    def reconstruct(self, y_hat: Tensor, quality: float | Tensor | None = None) -> Tensor:
        """The picture :meth:`decompress` returns for the latents ``y_hat``: g_s(ŷ·g'(q)) in [0, 1]."""
        return self._synthesis(y_hat, self.quality_tensor(quality, y_hat.shape[0])).clamp(0, 1)

    # -- the contract ---------------------------------------------------------------------------
    def forward(self, x: Tensor, quality: float | Tensor | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def compress(self, x: Tensor, quality: float | None = None, refine: int = 0) -> dict[str, Any]:
        """Code one image; ``refine`` > 0 first refines its latents for that many iterations
        (:mod:`licodec.refine`; only where :attr:`supports_refine`)."""
        raise NotImplementedError

    def decompress(self, strings: list[bytes], shape: tuple[int, int], quality: float | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def grow(self) -> None:
        """Initialize what a model of ``grows_from`` lacks, after its tensors are loaded."""
        raise NotImplementedError(f"{self.name} does not grow from another model")

    def widening_chunks(self) -> dict[str, int] | None:
        """How :func:`licodec.models.widen.widen` starts this model, with more channels, from a
        narrower one: the layers whose output is several equal chunks (e.g. ``{"h_s.4": 2}`` for
        [σ; μ]), or ``None`` if the model cannot widen (a layer reads concatenated inputs)."""
        return None

    # -- coding tables ----------------------------------------------------------------------------
    def update_tables(self) -> None:
        """Rebuild every factorized coding table from the current parameters (after training)."""
        for module in self.modules():
            if isinstance(module, FactorizedDensity):
                module.update_tables()

    def check_refine(self, steps: int) -> None:
        """Raise :class:`InvalidOptionError` unless ``compress(..., refine=steps)`` is possible."""
        from licodec.refine import check_steps

        if check_steps(steps) and not self.supports_refine:
            raise InvalidOptionError(f"{self.name}: latent refinement needs a hyperprior model without a context "
                                     "model (bmshj2018-hyperprior, mbt2018-mean)")

    def _check_eval(self) -> None:
        if self.training:
            raise RuntimeError("call model.eval() before compress/decompress: coding uses the exact inference path")


class HyperpriorModel(CompressionModel):
    """A model with a hyperprior: z = h_a(y) is coded with the factorized ``z_density`` into
    ``strings[1]``; ŷ is coded into ``strings[0]`` by the model's own entropy model given ẑ,
    which each model supplies as three methods (the only part that differs between papers):

    * ``_forward_y(y, ẑ) -> (ŷ, likelihoods of ŷ)`` for :meth:`forward` (training or eval);
    * ``_compress_y(y, ẑ, encoder) -> ŷ``: quantize y and code the symbols;
    * ``_decompress_y(ẑ, decoder) -> ŷ``: decode ŷ, bit for bit the encoder's.
    """

    def _hyper_in(self, y: Tensor) -> Tensor:
        """The input of h_a."""
        return y

    def _forward_y(self, y: Tensor, z_hat: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def _compress_y(self, y: Tensor, z_hat: Tensor, encoder: SymbolEncoder) -> Tensor:
        raise NotImplementedError

    def _decompress_y(self, z_hat: Tensor, decoder: SymbolDecoder) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor, quality: float | Tensor | None = None) -> dict[str, Any]:
        y, q = self._analysis(x, quality)
        z_hat, z_lik = self.z_density(self.h_a(self._hyper_in(y)))
        y_hat, y_lik = self._forward_y(y, z_hat)
        return {"x_hat": self._synthesis(y_hat, q), "likelihoods": {"y": y_lik, "z": z_lik}, "y_hat": y_hat}

    @torch.no_grad()
    def compress(self, x: Tensor, quality: float | None = None, refine: int = 0) -> dict[str, Any]:
        self._check_eval()
        self._check_input(x, single=True)
        self.check_refine(refine)
        y, q = self._analysis(x, quality)
        z_hat = self.z_density.quantize(self.h_a(self._hyper_in(y)))
        if refine:
            from licodec.refine import refine_latents

            y = refine_latents(self, x, y, z_hat, q, refine)
        z_enc, y_enc = SymbolEncoder(), SymbolEncoder()
        self.z_density.compress(z_hat, z_enc)
        y_hat = self._compress_y(y, z_hat, y_enc)
        return {"strings": [y_enc.finish(), z_enc.finish()], "shape": tuple(z_hat.shape[-2:]), "y_hat": y_hat}

    @torch.no_grad()
    def decompress(self, strings: list[bytes], shape: tuple[int, int], quality: float | None = None) -> dict[str, Any]:
        self._check_eval()
        q = self.quality_tensor(quality, 1)
        z_hat = self.z_density.decompress(SymbolDecoder(strings[1]), shape)
        y_hat = self._decompress_y(z_hat, SymbolDecoder(strings[0]))
        return {"x_hat": self.reconstruct(y_hat, q), "y_hat": y_hat}
