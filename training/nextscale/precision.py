"""Mixed precision for training: bfloat16 autocast where the device computes bfloat16 natively.

On a CPU with AVX512-BF16 (or AMX) oneDNN runs bfloat16 matrix products several times faster than float32;
without it, bfloat16 is emulated and slower. A CUDA GPU of compute capability 8.0 or later (Ampere, Hopper) has
bfloat16 tensor cores. The weights, the optimizer state, the norms (computed in float32 by the models) and the
losses (autocast keeps cross-entropy in float32) stay float32 either way.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import torch

CHOICES = ("auto", "bf16", "fp32")


def cpu_has_bf16() -> bool:
    """True when /proc/cpuinfo lists a native bfloat16 instruction set (avx512_bf16 or amx_bf16)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def device_has_bf16(device: torch.device) -> bool:
    """True for a CPU with native bfloat16 and for a CUDA GPU that supports it."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_bf16()


def resolve(precision: str, device: torch.device = torch.device("cpu")) -> str:
    """`auto` becomes bf16 on a device that computes it natively and fp32 elsewhere."""
    if precision not in CHOICES:
        raise ValueError(f"precision must be one of {CHOICES}, found {precision!r}")
    if precision == "auto":
        return "bf16" if device_has_bf16(device) else "fp32"
    return precision


def resolve_device(name: str) -> torch.device:
    """`auto` is the first CUDA GPU when PyTorch sees one, else the CPU; `cpu` and `cuda[:N]` are taken as given."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"--device must be auto, cpu or cuda[:N], found {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: PyTorch sees no CUDA GPU here (torch {torch.__version__}); use --device cpu")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"--device must be auto, cpu or cuda[:N], found {name!r}")
    return device


def autocast(precision: str, device: torch.device = torch.device("cpu")) -> contextlib.AbstractContextManager:
    """The forward pass's context: bfloat16 autocast on `device` for `bf16`, nothing for `fp32`."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
