"""Benchmarks (see docs/performance.md)."""
from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mib() -> float:
    """This process's own high-water mark (ru_maxrss would include the parent's, kept across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
