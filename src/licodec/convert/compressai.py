"""Import CompressAI checkpoints (``lic import-compressai``).

CompressAI (Bégaint et al., "CompressAI: a PyTorch library and evaluation platform for
end-to-end compression research", 2020) ships the same lineage of models as licodec. This
module turns its state dicts — the model zoo's files and checkpoints users trained
themselves — into licodec weights files, for every architecture both libraries have:

=======================  =========================  ==========================================
CompressAI name          licodec model              CompressAI class
=======================  =========================  ==========================================
bmshj2018-factorized     ``bls2017``                ``FactorizedPrior``
bmshj2018-hyperprior     ``bmshj2018-hyperprior``   ``ScaleHyperprior``
mbt2018-mean             ``mbt2018-mean``           ``MeanScaleHyperprior``
mbt2018                  ``mbt2018``                ``JointAutoregressiveHierarchicalPriors``
cheng2020-anchor         ``cheng2020-anchor``       ``Cheng2020Anchor``
cheng2020-attn           ``cheng2020-attn``         ``Cheng2020Attention``
elic2022                 ``elic2022``               ``Elic2022Official`` (``elic2022-official``)
=======================  =========================  ==========================================

The imported model is built with ``compat="compressai"`` (recorded in the weights file's
``config``), which makes licodec's model compute what CompressAI's computes where the two
layouts differ:

* factorized densities (``entropy_bottleneck``): CompressAI's four hidden filter layers and
  quantization around the per-channel medians (``quantiles[:, 0, 1]``): ẑ = round(z − m) + m;
* leaky ReLU in the entropy-parameter path of ``mbt2018-mean``, ``mbt2018`` and
  ``cheng2020-*`` (h_s, g_ep) as :class:`~licodec.layers.exact.ExactLeakyReLU`;
* ``cheng2020-*``: CompressAI's single-Gaussian entropy model (g_ep 4M → 10M/3 → 8M/3 → 2M,
  ŷ = round(y − μ) + μ decoded in raster-causal order) instead of licodec's K = 3 mixture;
* ``elic2022``: ψ = h_s(ẑ) has 2N channels (CompressAI's last h_s layer is a stride-1
  transposed 3×3 convolution to 2N, converted here to the equivalent convolution: kernel
  flipped, in/out swapped) and the parameter-aggregation widths follow CompressAI's
  ``sequential_channel_ramp``.

Values: GDN parameters are converted *by value*: CompressAI stores β, γ through
``NonNegativeParametrizer`` (value = max(p, bound)² − pedestal, pedestal 2^-36), licodec with
pedestal 2^-18, so p' = sqrt(value + 2^-18). Masked context weights are stored masked. The
entropy coders' tables (``_quantized_cdf``, ``_offset``, ``_cdf_length``, ``scale_table``)
are dropped: licodec codes with its own tables, rebuilt by ``update_tables()``. An imported
model has one rate point: the quality gains are one level, λ = ``lmbda``, log gains 0 (quality
range [1, 1]).

Exactness: licodec runs h_s, the context model and g_ep in exact fixed point (weights on a
2^-14 grid, activations on 2^-8, :mod:`licodec.layers.exact`) so that decoding is bit-exact on
every machine. The imported model's entropy parameters are therefore within about 2^-9 of
CompressAI's, not bit-equal; a latent that lies within that distance of a rounding boundary
can quantize differently, and the Gaussian scales are coded through licodec's 64-entry scale
table. The transforms g_a, g_s, h_a are float and match CompressAI's to float precision.

Safety: CompressAI checkpoints are PyTorch pickles (``.pth``, ``.pth.tar``), and unpickling a
file can run any code its author wrote into it. licodec never unpickles a file a user hands
it: it reads checkpoints with ``torch.load(path, map_location="cpu", weights_only=True)``,
PyTorch's restricted unpickler, which rebuilds only tensors, numbers, strings and plain
containers (dict, list, tuple, OrderedDict) and refuses every other object — such a file fails
with :class:`~licodec.errors.WeightsError` instead of running anything. ``.safetensors`` state
dicts (no code at all) are read too.
"""

from __future__ import annotations

import math
import os
import pickle
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from licodec.errors import InvalidOptionError, WeightsError

# CompressAI name -> licodec registry name
ARCHS: dict[str, str] = {
    "bmshj2018-factorized": "bls2017",
    "bmshj2018-hyperprior": "bmshj2018-hyperprior",
    "mbt2018-mean": "mbt2018-mean",
    "mbt2018": "mbt2018",
    "cheng2020-anchor": "cheng2020-anchor",
    "cheng2020-attn": "cheng2020-attn",
    "elic2022": "elic2022",
}
_ALIASES = {"bls2017": "bmshj2018-factorized", "elic2022-official": "elic2022"}

# λ recorded when none is given: CompressAI's MSE quality 4 (only used if the model is fine-tuned).
DEFAULT_LAMBDA = 0.0130

_CAI_PEDESTAL = 2.0**-36  # NonNegativeParametrizer(reparam_offset=2^-18): pedestal = offset²
_OUR_PEDESTAL = 2.0**-18  # licodec.layers.gdn._PEDESTAL
_GDN_MINIMUM = {"beta": 1e-6, "gamma": 0.0}
_STATE_KEYS = ("state_dict", "model_state_dict", "model", "network", "net")

_DROP = object()  # marker: a CompressAI tensor licodec does not need


def resolve_arch(name: str) -> str:
    """The CompressAI architecture name for ``name`` (CompressAI's or licodec's)."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in ARCHS:
        raise InvalidOptionError(f"unknown architecture '{name}' (known: {', '.join(ARCHS)})")
    return key


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


# -- reading -------------------------------------------------------------------------------------------
def read_checkpoint(path: str | os.PathLike) -> dict[str, Tensor]:
    """The state dict in a CompressAI checkpoint: a torch file (read with the restricted
    ``weights_only`` unpickler, never plain pickle) or a ``.safetensors`` file. Finds the state
    dict under ``state_dict``/``model``/``network`` and strips DataParallel's ``module.``
    prefixes and old CompressAI key names. Raises :class:`WeightsError` for anything else."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"checkpoint not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            obj: Any = load_file(str(path))
        except Exception as exc:  # noqa: BLE001 - any failure means an unreadable file
            raise WeightsError(f"{path.name} is not a readable safetensors file ({_one_line(exc)})") from None
    else:
        try:
            with warnings.catch_warnings():  # e.g. "pickle protocol 4": the outcome is reported below
                warnings.simplefilter("ignore")
                obj = torch.load(str(path), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
            if found:
                raise WeightsError(f"{path.name} holds objects other than tensors and plain containers "
                                   f"({found[1]}); refusing to unpickle it (re-save its state_dict)") from None
            detail = re.search(r"WeightsUnpickler error:\s*([^\n]+)", str(exc))
            reason = detail[1].strip() if detail else _one_line(exc)
            raise WeightsError(f"{path.name} is not a readable PyTorch checkpoint ({reason})") from None
        except Exception as exc:  # noqa: BLE001 - zip, EOF, format errors: all mean unreadable
            raise WeightsError(f"{path.name} is not a readable PyTorch checkpoint ({_one_line(exc)})") from None
    return _normalize(_find_state_dict(obj, path.name))


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, Mapping) and len(obj) > 0 and all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items())


def _find_state_dict(obj: Any, name: str) -> Mapping[str, Tensor]:
    for _ in range(4):
        if _is_state_dict(obj):
            return obj
        if not isinstance(obj, Mapping):
            break
        inner = next((obj[k] for k in _STATE_KEYS if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            keys = ", ".join(sorted(str(k) for k in obj)[:6])
            raise WeightsError(f"{name} holds no state dict (top-level keys: {keys or 'none'})")
        obj = inner
    raise WeightsError(f"{name} holds no state dict of tensors")


_OLD_NAMES = [
    (re.compile(r"^(module\.|_orig_mod\.)+"), ""),  # DataParallel / torch.compile prefixes
    (re.compile(r"\.downsample\."), ".skip."),  # old ResidualBlockWithStride
    (re.compile(r"entropy_bottleneck\.(?:_matrices\.|_matrix)(\d+)$"), r"entropy_bottleneck.matrices.\1"),
    (re.compile(r"entropy_bottleneck\.(?:_biases\.|_bias)(\d+)$"), r"entropy_bottleneck.biases.\1"),
    (re.compile(r"entropy_bottleneck\.(?:_factors\.|_factor)(\d+)$"), r"entropy_bottleneck.factors.\1"),
]


def _normalize(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    out: dict[str, Tensor] = {}
    for key, t in state.items():
        for pattern, repl in _OLD_NAMES:
            key = pattern.sub(repl, key)
        out[key] = t
    return out


# -- architecture ----------------------------------------------------------------------------------------
def guess_arch(state: Mapping[str, Tensor]) -> str | None:
    """The CompressAI architecture a (normalized) state dict looks like, or None."""
    keys = set(state)
    if any(k.startswith("latent_codec.y.channel_context.") for k in keys):
        return "elic2022"
    if "g_a.0.conv1.weight" in keys:
        return "cheng2020-attn" if any(".conv_a." in k for k in keys) else "cheng2020-anchor"
    if "g_a.0.weight" in keys and "g_a.6.weight" in keys:
        if "context_prediction.weight" in keys:
            return "mbt2018"
        if "h_s.4.weight" in keys:
            m, out = state["g_a.6.weight"].shape[0], state["h_s.4.weight"].shape[0]
            return {2 * m: "mbt2018-mean", m: "bmshj2018-hyperprior"}.get(out)
        if "h_a.0.weight" not in keys:
            return "bmshj2018-factorized"
    return None


def _hint(state: Mapping[str, Tensor], arch: str) -> str:
    guess = guess_arch(state)
    return f"; it looks like a '{guess}' checkpoint (--arch {guess})" if guess and guess != arch else ""


def _shape(state: Mapping[str, Tensor], key: str, dim: int, arch: str, name: str) -> int:
    if key not in state:
        raise WeightsError(f"{name} is not a CompressAI {arch} checkpoint (no '{key}'){_hint(state, arch)}")
    return int(state[key].shape[dim])


def infer_config(state: Mapping[str, Tensor], arch: str, name: str = "checkpoint") -> dict[str, Any]:
    """N, M (and ELIC's channel groups) from the tensor shapes."""
    if arch in ("bmshj2018-factorized", "bmshj2018-hyperprior", "mbt2018-mean", "mbt2018"):
        return {"N": _shape(state, "g_a.0.weight", 0, arch, name), "M": _shape(state, "g_a.6.weight", 0, arch, name)}
    if arch.startswith("cheng2020"):
        n = _shape(state, "g_a.0.conv1.weight", 0, arch, name)
        return {"N": n, "M": n}  # CompressAI's Cheng2020 has M = N
    if arch == "elic2022":
        n = _shape(state, "g_a.0.weight", 0, arch, name)
        m = _shape(state, "g_a.13.weight", 0, arch, name)
        groups = []
        while (key := f"latent_codec.y.latent_codec.y{len(groups)}.context_prediction.weight") in state:
            groups.append(int(state[key].shape[1]))
        if not groups or sum(groups) != m:
            raise WeightsError(f"{name}: ELIC channel groups {groups} do not add up to M = {m}")
        return {"N": n, "M": m, "groups": groups}
    raise InvalidOptionError(f"unknown architecture '{arch}'")


# -- names -----------------------------------------------------------------------------------------------
_DROPS = [
    re.compile(r"(^|\.)gaussian_conditional\."),  # coding tables, scale table and bounds
    re.compile(r"entropy_bottleneck\.(_quantized_cdf|_cdf_length|_offset|target|likelihood_lower_bound\.bound)$"),
    re.compile(r"_reparam\.(pedestal|lower_bound\.bound)$"),  # GDN parametrizer state (read for the values)
    re.compile(r"(context_prediction|spatial_context\.\d+)\.mask$"),  # masks come from licodec's code
]
_ATTENTION = [
    (re.compile(r"\.conv_a\.(\d+)\.conv\.(\d+)\."), r".trunk.\1.body.\2."),
    (re.compile(r"\.conv_b\.(\d+)\.conv\.(\d+)\."), r".mask.\1.body.\2."),
    (re.compile(r"\.conv_b\.(\d+)\.(weight|bias)$"), r".mask.\1.\2"),
]
_CHENG = [(re.compile(r"\.subpel_conv\."), ".subpel.")]
_ELIC = [
    (re.compile(r"^latent_codec\.hyper\.(h_a|h_s|entropy_bottleneck)\."), r"\1."),
    (re.compile(r"^latent_codec\.y\.channel_context\.y(\d+)\."), lambda m: f"channel_context.{int(m[1]) - 1}."),
    (re.compile(r"^latent_codec\.y\.latent_codec\.y(\d+)\.context_prediction\."), r"spatial_context.\1."),
    (re.compile(r"^latent_codec\.y\.latent_codec\.y(\d+)\.entropy_parameters\."), r"param_aggregation.\1."),
    (re.compile(r"^latent_codec\.y\.latent_codec\.y(\d+)\.(y|latent_codec\.y)\.gaussian_conditional\."),
     "gaussian_conditional."),
    (re.compile(r"^(g_[as]\.\d+)\.conv([123])\."), lambda m: f"{m[1]}.body.{2 * (int(m[2]) - 1)}."),
]


def _rename(arch: str, key: str) -> Any:
    """licodec's name for CompressAI tensor ``key`` (``_DROP`` for tensors licodec rebuilds itself)."""
    rules = (_ELIC + _ATTENTION) if arch == "elic2022" else (_CHENG + _ATTENTION) if arch.startswith("cheng") else []
    for pattern, repl in rules:
        key = pattern.sub(repl, key)
    if any(p.search(key) for p in _DROPS):
        return _DROP
    density = "density" if arch == "bmshj2018-factorized" else "z_density"
    if key == "entropy_bottleneck.quantiles":
        return f"{density}.medians"
    if key.startswith("entropy_bottleneck."):
        return density + key[len("entropy_bottleneck"):]
    return key


# -- values ----------------------------------------------------------------------------------------------
def _gdn_value(state: Mapping[str, Tensor], key: str, t: Tensor) -> Tensor:
    """CompressAI's reparametrized GDN β/γ -> licodec's parameter with the same value."""
    prefix, param = key.rsplit(".", 1)
    ped = state.get(f"{prefix}.{param}_reparam.pedestal")
    ped = float(ped.reshape(-1)[0]) if ped is not None else _CAI_PEDESTAL
    bound = state.get(f"{prefix}.{param}_reparam.lower_bound.bound")
    bound = float(bound.reshape(-1)[0]) if bound is not None else math.sqrt(_GDN_MINIMUM[param] + ped)
    value = t.double().clamp_min(bound) ** 2 - ped
    return torch.sqrt(value.clamp_min(0) + _OUR_PEDESTAL).float()


def _value(net: torch.nn.Module, arch: str, key: str, target: str, t: Tensor, state: Mapping[str, Tensor]) -> Tensor:
    from licodec.layers.gdn import GDN
    from licodec.layers.masked import MaskedExactConv2d

    module_name, _, param = target.rpartition(".")
    module = net.get_submodule(module_name)
    if isinstance(module, GDN) and param in ("beta", "gamma"):
        return _gdn_value(state, key, t)
    if param == "medians":
        return t[:, 0, 1].float()
    t = t.detach().float()
    if isinstance(module, MaskedExactConv2d) and param == "weight":
        return t * module.mask.to(t.dtype)
    if arch == "elic2022" and target == "h_s.4.weight":
        # CompressAI: ConvTranspose2d(3N/2, 2N, 3, stride 1, padding 1) == Conv2d with the
        # kernel flipped and input/output channels swapped (padding 3 - 1 - 1 = 1).
        return t.transpose(0, 1).flip(2, 3).contiguous()
    return t


def _ours_only(key: str) -> bool:
    """licodec tensors that no CompressAI tensor provides: the quality gains and coding tables."""
    return key.startswith("gain.") or key.endswith(("._pmf", "._offset"))


def _examples(keys: list[str]) -> str:
    return ", ".join(f"'{k}'" for k in keys[:2]) + (", ..." if len(keys) > 2 else "")


def convert_state_dict(state: Mapping[str, Tensor], arch: str, lmbda: float | None = None,
                       name: str = "checkpoint") -> torch.nn.Module:
    """Build the licodec model for CompressAI architecture ``arch`` holding ``state``'s weights
    (eval mode, coding tables built). ``state`` is a CompressAI state dict; raises
    :class:`WeightsError` when it does not fit ``arch``."""
    from licodec import models

    arch = resolve_arch(arch)
    state = _normalize(state)
    lam = DEFAULT_LAMBDA if lmbda is None else float(lmbda)
    if not (lam > 0 and math.isfinite(lam)):
        raise InvalidOptionError(f"lambda must be a positive number, got {lmbda}")
    config = infer_config(state, arch, name)
    try:
        net = models.create(ARCHS[arch], pretrained=False, lambdas=(lam,), compat="compressai", **config)
    except (ValueError, TypeError) as exc:
        raise WeightsError(f"{name}: cannot build {ARCHS[arch]} with {config} ({_one_line(exc)})") from None
    ours = net.state_dict()
    mapped: dict[str, Tensor] = {}
    unexpected: list[str] = []
    for key, t in state.items():
        target = _rename(arch, key)
        if target is _DROP:
            continue
        if target not in ours or _ours_only(target):
            unexpected.append(key)
            continue
        value = _value(net, arch, key, target, t, state)
        if value.shape != ours[target].shape:
            raise WeightsError(f"{name} does not fit CompressAI's {arch}: '{key}' has shape {tuple(t.shape)}, "
                               f"expected {tuple(ours[target].shape)}{_hint(state, arch)}")
        mapped[target] = value
    missing = sorted(k for k in ours if k not in mapped and not _ours_only(k))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} tensors missing (licodec names: {_examples(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected ({_examples(sorted(unexpected))})")
        raise WeightsError(f"{name} does not fit CompressAI's {arch}: {'; '.join(parts)}{_hint(state, arch)}")
    full = dict(ours)
    full.update(mapped)
    full["gain.log_enc"] = torch.zeros_like(ours["gain.log_enc"])
    full["gain.log_dec"] = torch.zeros_like(ours["gain.log_dec"])
    net.load_state_dict(full)
    net.update_tables()
    net.eval()
    return net


def import_compressai(src: str | os.PathLike, arch: str, out: str | os.PathLike,
                      lmbda: float | None = None) -> torch.nn.Module:
    """Read CompressAI checkpoint ``src``, convert it for ``arch`` and write licodec weights to
    ``out`` (atomically; nothing is written if anything fails). Returns the model."""
    from licodec import models

    src = Path(src)
    arch = resolve_arch(arch)
    state = read_checkpoint(src)
    net = convert_state_dict(state, arch, lmbda=lmbda, name=src.name)
    card = {"source": "compressai", "source_arch": arch, "source_file": src.name}
    models.save_weights(net, out, metadata=card)
    return net
