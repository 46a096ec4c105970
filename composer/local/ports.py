"""Is a local TCP port free, and if not, who holds it? Reads /proc; starts no process."""

from __future__ import annotations

import errno
import os
import random
import socket
from collections.abc import Iterable
from pathlib import Path

from composer.local.graph import LOOPBACK


def port_free(port: int, host: str = LOOPBACK) -> bool:
    """True when we could bind `host:port` now (a listener on 0.0.0.0 also makes it busy)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # Like the servers we start: a port left in TIME_WAIT by a stopped graph is free, a
        # listening one is not (Linux refuses the bind either way).
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def free_block(n: int, low: int = 20000, high: int = 32000) -> int:
    """A base port with n free ports after it (a frontend, then one system port per worker),
    below 32767: Dynamo (1.4.0 and 1.6.1) reads DYN_SYSTEM_PORT as a signed 16-bit number."""
    rng = random.Random()
    for _ in range(500):
        base = rng.randrange(low, high - n)
        if all(port_free(base + i) for i in range(n)):
            return base
    raise OSError(f"no block of {n} free ports between {low} and {high}")


def holder(port: int, proc_root: Path = Path("/proc")) -> str | None:
    """'pid 123 (python3 -m http.server)' for the process listening on `port`, if we can see it."""
    inodes = _listening_inodes(port, proc_root)
    if not inodes:
        return None
    for pid_dir in proc_root.iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            fds = list((pid_dir / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(fd)
            except OSError:
                continue
            if link.startswith("socket:[") and link[8:-1] in inodes:
                return f"pid {pid_dir.name} ({_cmdline(pid_dir)})"
    return "a process we cannot inspect"


def listening(port: int, proc_root: Path = Path("/proc")) -> bool:
    """Whether some process listens on TCP `port` (read from /proc/net; binds nothing)."""
    return bool(_listening_inodes(port, proc_root))


def conflicts(ports: Iterable[int]) -> list[str]:
    """One line per busy port: 'port 18000 is in use by pid 42 (...)'."""
    out = []
    for port in ports:
        if not port_free(port):
            who = holder(port)
            out.append(f"port {port} is in use" + (f" by {who}" if who else ""))
    return out


def _listening_inodes(port: int, proc_root: Path) -> set[str]:
    found: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc_root / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                found.add(cols[9])
    return found


def _cmdline(pid_dir: Path) -> str:
    try:
        parts = (pid_dir / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(p.decode(errors="replace") for p in parts if p)
    return text if len(text) <= 80 else text[:77] + "..."
