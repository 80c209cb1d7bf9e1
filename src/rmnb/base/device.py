"""Device and dtype resolution. ``"auto"`` means CUDA, then MPS, then CPU; nothing else picks a device."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

from rmnb.base.errors import RmnbError

_DTYPES = {
    "float32": torch.float32, "fp32": torch.float32, "float": torch.float32,
    "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
    "float16": torch.float16, "fp16": torch.float16, "half": torch.float16,
}


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` (or ``None``) -> CUDA if available, then MPS, then CPU; anything else is passed to torch."""
    if isinstance(device, torch.device):
        return device
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise RmnbError(f"Unknown device {device!r}; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'.") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RmnbError(f"Device {device!r} was requested but CUDA is not available here; use --device auto.")
    return dev


def resolve_dtype(dtype: str | torch.dtype | None, default: str = "float32") -> torch.dtype:
    """A torch dtype from a name ("float32", "bf16", ...), a torch dtype, or ``None`` (-> ``default``)."""
    if isinstance(dtype, torch.dtype):
        return dtype
    name = (dtype or default)
    name = name.removeprefix("torch.").lower()
    try:
        return _DTYPES[name]
    except KeyError:
        raise RmnbError(f"Unknown dtype {dtype!r}; use one of float32, bfloat16, float16.") from None


def scoring_dtype(dtype: str | None = "auto", device: str | torch.device = "auto") -> str | None:
    """The dtype a large search scores in. ``"auto"``: ``None`` (= the registry's dtype) on a GPU; on a CPU,
    bfloat16 where the processor computes it natively (:func:`native_bf16_cpu`), else float32. Measured on an
    AVX2-only CPU, emulated bfloat16 scored 3.2x *slower* than float32 (benchmarks/README.md), so "auto" never
    picks it there; where bfloat16 is native it is about twice as fast. Any other value is returned as is."""
    if dtype != "auto":
        return dtype
    if resolve_device(device).type == "cuda":
        return None
    return "bfloat16" if native_bf16_cpu() else "float32"


def native_bf16_cpu(cpuinfo: str | None = None) -> bool:
    """Whether the CPU has bfloat16 instructions (x86 ``avx512_bf16`` or ``amx_bf16``, Arm ``bf16``), read from
    ``/proc/cpuinfo`` (or the given text); ``False`` where that cannot be read."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    flags = set()
    for line in cpuinfo.splitlines():
        if line.lower().startswith(("flags", "features")):
            flags.update(line.split(":", 1)[-1].split())
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})


def dtype_name(dtype: str | torch.dtype) -> str:
    """Canonical name of a dtype: "float32", "bfloat16" or "float16"."""
    return str(resolve_dtype(dtype)).removeprefix("torch.")


def describe_device(device: str | torch.device) -> str:
    """A human-readable description for sidecars and benchmark reports."""
    dev = resolve_device(device)
    if dev.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(dev)}"
    if dev.type == "mps":
        return f"mps: {platform.machine()}"
    return f"cpu: {cpu_name()}, {torch.get_num_threads()} threads ({os.cpu_count()} cores visible)"


def cpu_name() -> str:
    """The processor's model name (Linux: from /proc/cpuinfo), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def synchronize(device: str | torch.device) -> None:
    """Wait for queued kernels (for honest timings on CUDA/MPS); a no-op on CPU."""
    dev = resolve_device(device)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elif dev.type == "mps":
        torch.mps.synchronize()
