"""Memory plans: how much a process may still allocate, checked before large arrays are
made, so that a plan that does not fit is a clear error naming the sizes (or a fallback),
never a ``MemoryError`` or a crash half-way."""

from __future__ import annotations

import os

import torch

__all__ = ["available_memory_bytes", "memory_shortfall"]

#: Share of the free memory a plan may take.
HEADROOM = 0.8


def available_memory_bytes() -> int:
    """Memory the process may still use: ``MemAvailable`` from /proc/meminfo where there is
    one, else the physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def memory_shortfall(need: int, device: torch.device | str = "cpu") -> str | None:
    """``None`` when ``need`` bytes fit in 80 % of the free memory of ``device``, else a
    sentence naming both sizes ("needs 3.1 GiB, more than 80 % of the 2.0 GiB ...")."""
    device = torch.device(device)
    if device.type == "cuda":
        have = int(torch.cuda.mem_get_info(device)[0])
        where = f"free memory on {device}"
    else:
        have = available_memory_bytes()
        where = "available memory"
    if need <= HEADROOM * have:
        return None
    return f"needs {_size(need)}, more than 80 % of the {_size(have)} {where}"


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"
