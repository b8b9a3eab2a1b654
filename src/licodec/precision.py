"""Which float precision runs fast on a device.

bf16 autocast halves the memory traffic of convolutions and runs them on the hardware's bf16
units where there are any: a GPU that supports bf16, or a CPU with AVX-512 BF16 or AMX (oneDNN's
bf16 kernels). Elsewhere PyTorch emulates bf16 and it is several times slower than fp32: on 2
AVX2-only AMD EPYC cores a training step of ``mbt2018-mean`` (batch 8 of 256²) takes 29.8 s in
bf16 + channels_last against 4.70 s in fp32 (``benchmarks/bench_train_speed.py``); on 2 cores of an
Intel Xeon with AVX-512 but without its BF16 extension, 5.68 s against 2.61 s. oneDNN reports bf16
as supported on any AVX-512 CPU (it converts in software there), so the check asks the CPU for the
instructions themselves.
"""

from __future__ import annotations

import torch


def native_bf16(device: torch.device) -> bool:
    """Whether bf16 autocast runs on ``device``'s own bf16 arithmetic (module docstring)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
