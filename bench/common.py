"""Shared pieces of the benchmark: the synthetic roster and the frame layout.

Talkgroup ``g`` (0-based) is ``tg{g:04d}``, number ``g + 1`` (the roster numbers talkgroups from
1 in file order), with members ``m{g*size + i:05d}`` for ``i`` in ``range(size)``. Members beyond
``groups * size`` (when more idle connections are asked for) belong to no talkgroup.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

#: The 16-byte Siaga audio header (see siaga/wire.py): ver, flags, talkgroup #, stream, seq, ts.
HEADER = struct.Struct(">BBHIII")
#: Payload: 8-byte sender perf_counter_ns, then filler up to PAYLOAD_BYTES (about one 20 ms
#: packet of 16 kbit/s Opus, which is 40 bytes).
PAYLOAD_BYTES = 48
FILLER = bytes(PAYLOAD_BYTES - 8)
FRAME_S = 0.020


def member_id(i: int) -> str:
    return f"m{i:05d}"


def group_id(g: int) -> str:
    return f"tg{g:04d}"


def roster_toml(groups: int, size: int, members: int) -> str:
    """A roster with ``members`` staff members and ``groups`` talkgroups of ``size`` each."""
    total = max(members, groups * size)
    out = ['[network]', 'name = "Siaga benchmark"', 'province = "Jambi"', '']
    for i in range(total):
        out += ['[[members]]', f'id = "{member_id(i)}"', f'name = "Bench {i}"',
                'role = "staff"', '']
    for g in range(groups):
        ids = ", ".join(f'"{member_id(g * size + i)}"' for i in range(size))
        out += ['[[talkgroups]]', f'id = "{group_id(g)}"', f'name = "Bench group {g}"',
                f'members = [{ids}]', 'time_limit = 3600.0', 'emergency_time_limit = 3600.0',
                'queue_timeout = 3600.0', '']
    return "\n".join(out)


@dataclass(frozen=True, slots=True)
class Plan:
    """Sizes shared by the orchestrator, the servers and the load workers."""

    groups: int
    size: int
    members: int  # total members in the roster (>= groups * size)

    @property
    def total(self) -> int:
        return max(self.members, self.groups * self.size)


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    ticks = int(fields[11]) + int(fields[12])  # fields 14 and 15 of the man page
    return ticks / _CLK_TCK


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine from /proc/stat, softirq and steal included."""
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:9]]
    idle = vals[3] + vals[4]  # idle + iowait
    return float(sum(vals) - idle), float(sum(vals))


def proc_rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def _clk_tck() -> int:
    import os
    return os.sysconf("SC_CLK_TCK")


_CLK_TCK = _clk_tck()


def now() -> float:
    """The clock every process uses for schedules (CLOCK_MONOTONIC, shared by all processes)."""
    return time.monotonic()
