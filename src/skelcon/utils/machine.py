"""One line naming the machine a figure was measured on, for every script and bench that
prints figures the README states (``python -m skelcon.utils.machine`` prints it)."""

from __future__ import annotations

import os
import platform


def machine_line() -> str:
    """``"machine: AMD EPYC ... (x86_64, AVX512, native bf16 GEMM); 2 usable CPUs; load
    1.3; no GPU; torch 2.13.0; skelcon 0.2.0; Linux"``: the CPU as PyTorch dispatches on
    it (:func:`skelcon.utils.cpu.cpu_caps`, honouring ``ONEDNN_MAX_CPU_ISA``), the CPUs
    this process may use (affinity), the 1-minute load average, the GPU if any and the
    versions."""
    import torch

    from .. import __version__
    from .cpu import cpu_caps

    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    try:
        load = f"load {os.getloadavg()[0]:.1f}"
    except OSError:
        load = "load unknown"
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"machine: {cpu_caps().describe()}; {cpus} usable CPUs; {load}; {gpu}; "
        f"torch {torch.__version__}; skelcon {__version__}; {platform.system()}"
    )


if __name__ == "__main__":
    print(machine_line())
