"""Run a command and sample, while it runs, the memory of its process tree and disk use.

Memory is the sum of VmRSS over the process and its descendants (from /proc),
sampled every `interval` seconds; the kernel's own peak of the command's
process (VmHWM, read with each sample) is reported beside it, so a spike
between two samples still shows. Disk is the allocated size of each
watched folder (st_blocks), so a sparse or preallocated file counts what it
really takes.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    """One moment of a monitored run (`at` is epoch seconds)."""

    at: float
    rss: int  # bytes, the whole process tree
    disk: tuple[int, ...]  # bytes allocated under each watched folder


@dataclass
class Monitored:
    """What a monitored command did."""

    code: int
    started: float  # epoch seconds
    ended: float
    samples: list[Sample] = field(default_factory=list)
    process_peak_rss: int = 0  # bytes, the command's own process (kernel peak, VmHWM)
    disk_before: tuple[int, ...] = ()
    output: str = ""

    @property
    def seconds(self) -> float:
        """Wall time of the command."""
        return self.ended - self.started

    def peak_rss(self, start: float = 0.0, end: float = float("inf")) -> int | None:
        """Largest tree RSS sampled in [start, end), or None without a sample there."""
        values = [s.rss for s in self.samples if start <= s.at < end]
        return max(values) if values else None

    def peak_growth(self, index: int, start: float = 0.0, end: float = float("inf")) -> int | None:
        """Largest growth of watched folder `index` over its size before the command."""
        values = [s.disk[index] for s in self.samples if start <= s.at < end]
        return max(values) - self.disk_before[index] if values else None


def disk_bytes(path: Path) -> int:
    """Bytes allocated under `path` (0 when it does not exist); files vanishing are skipped."""
    total = 0
    stack = [path]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                else:
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
            except FileNotFoundError:
                continue
    return total


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def status_bytes(pid: int, name: str) -> int | None:
    """A memory figure of /proc/<pid>/status in bytes (VmRSS, VmHWM), None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and every descendant (0 for processes already gone)."""
    tree, total, stack = _children(), 0, [pid]
    while stack:
        current = stack.pop()
        stack.extend(tree.get(current, ()))
        total += status_bytes(current, "VmRSS") or 0
    return total


def run_monitored(
    cmd: list[str],
    *,
    env: dict[str, str],
    watch: tuple[Path, ...],
    interval: float = 0.25,
    on_sample: Callable[[float], None] | None = None,
) -> Monitored:
    """Run `cmd` to its end, sampling its tree's RSS and the watched folders every `interval`.

    `on_sample`, when given, is called after each sample (from the sampling loop) with the
    elapsed seconds; the delta benchmark polls the serving snapshot from it.
    """
    before = tuple(disk_bytes(p) for p in watch)
    started = time.time()
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True)
    reader.start()
    result = Monitored(0, started, started, disk_before=before)
    while proc.poll() is None:
        now = time.time()
        result.samples.append(Sample(now, tree_rss(proc.pid), tuple(disk_bytes(p) for p in watch)))
        hwm = status_bytes(proc.pid, "VmHWM") or 0
        result.process_peak_rss = max(result.process_peak_rss, hwm)
        if on_sample is not None:
            on_sample(now - started)
        time.sleep(max(0.0, interval - (time.time() - now)))
    result.ended = time.time()
    result.code = proc.returncode
    reader.join()
    result.output = "".join(out)
    return result
