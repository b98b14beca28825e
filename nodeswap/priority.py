"""The process priority (DeepFaceLive's "process priority: normal / lowest"): at the lowest, a swap running
in the background leaves the CPU to whatever the user is doing. Worker processes inherit it."""

from __future__ import annotations

import os
import sys

from .errors import UserError

PRIORITIES = ("normal", "lowest")
_IDLE_PRIORITY_CLASS = 0x40  # Windows' lowest class


def set_priority(priority: str) -> None:
    """Lower this process to ``priority`` (normal leaves it as it is: raising it again needs privileges)."""
    if priority not in PRIORITIES:
        raise UserError(f"priority '{priority}' is not one of {', '.join(PRIORITIES)} (--priority, NODESWAP_PRIORITY)")
    if priority == "normal":
        return
    if sys.platform == "win32":
        import ctypes

        kernel = ctypes.windll.kernel32  # type: ignore[attr-defined]
        kernel.SetPriorityClass(kernel.GetCurrentProcess(), _IDLE_PRIORITY_CLASS)
    else:
        os.nice(19 - os.nice(0))  # the highest niceness there is
