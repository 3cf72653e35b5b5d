"""Who holds a job lease, and whether that process still exists.

A lease owner reads ``HOST:PID.START:…`` (``START`` = the process start time in clock ticks
since boot, base 36, from ``/proc/PID/stat`` field 22 [proc(5)]). Why more than a lease: a
worker killed with ``kill -9`` stops renewing its lease, and without this a restarted process
would wait out the whole lease before running the job again. A process on the same host can
tell at once that the owner is gone: no such pid, a zombie, or a pid reused by a process that
started at another time. Other hosts' leases are left to expire (``requeue_expired``).

Limit: processes in separate PID namespaces that share one host name (containers with a fixed
``hostname``) would see each other's live workers as gone; the live worker then finds its lease
taken at its next heartbeat and stops, and the job runs again: wasted work, never two outcomes.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

_HOST_LEN = 24  # lease_owner is at most 64 characters


def host_name() -> str:
    return socket.gethostname()[:_HOST_LEN].replace(":", "-")


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3… of ``/proc/PID/stat`` (after the parenthesised command name), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None  # field 22 of proc(5)


def process_tag(pid: int | None = None) -> str:
    """``PID.START`` of a process (this one by default); ``PID`` alone without ``/proc``."""
    pid = pid if pid is not None else os.getpid()
    ticks = start_ticks(pid)
    return f"{pid}.{_base36(ticks)}" if ticks is not None else str(pid)


def owner_prefix() -> str:
    """``HOST:PID.START`` of this process: the start of every lease owner it writes."""
    return f"{host_name()}:{process_tag()}"


@dataclass(frozen=True, slots=True)
class LeaseOwner:
    host: str
    pid: int
    start: str | None  # base-36 start ticks, None when the owner did not record them


def parse_owner(owner: str) -> LeaseOwner | None:
    host, _, rest = owner.partition(":")
    tag = rest.split(":", 1)[0]
    pid_text, _, start = tag.partition(".")
    if not host or not pid_text.isdigit():
        return None
    return LeaseOwner(host, int(pid_text), start or None)


def is_gone(owner: LeaseOwner) -> bool:
    """True when the owner's process surely no longer runs on this host."""
    if owner.pid == os.getpid():
        # Our pid: ours, unless it started at another time (a restarted container's PID 1).
        mine = process_tag().partition(".")[2]
        return owner.start is not None and bool(mine) and owner.start != mine
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # exists, another user's
    fields = _stat_fields(owner.pid)
    if fields is None:
        return False  # no /proc: the pid exists, trust it
    if fields[0] == "Z":
        return True  # killed, not yet reaped
    if owner.start is not None and len(fields) > 19:
        return _base36(int(fields[19])) != owner.start  # the pid now names another process
    return False
