"""The only module that starts processes.

Callers build argv lists with pure functions and hand them here, so tests can compare argv
as plain lists and fake the process boundary (pytest-subprocess) without touching logic.
"""

from __future__ import annotations

import codecs
import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from composer.errors import Interrupted, ToolMissing


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


INSTALL_HINTS = {
    "helm": "run ./scripts/setup (installs helm 3.15.3 into .venv/bin) or put helm on PATH",
    "helmfile": "run ./scripts/setup (installs helmfile 0.166.0 into .venv/bin) or put helmfile on PATH",
    "kubectl": "run ./scripts/setup (installs kubectl 1.30.0 into .venv/bin) or put kubectl on PATH",
}


def search_path() -> str:
    """Where compose and the programs it starts (helmfile runs helm and kubectl) look for programs.

    In a virtualenv, its bin directory (the interpreter's) comes first: ./scripts/setup pins helm,
    helmfile and kubectl there, and an older one earlier on PATH must not win. Outside one, the
    interpreter's directory is a system one (/usr/bin) and comes after PATH, as before."""
    path, own = os.environ.get("PATH", ""), str(Path(sys.executable).parent)
    order = (own, path) if sys.prefix != sys.base_prefix else (path, own)
    return os.pathsep.join(p for p in order if p)


def which(tool: str) -> str:
    found = shutil.which(tool, path=search_path())
    if not found:
        hint = INSTALL_HINTS.get(tool, f"install {tool} and put it on PATH")
        raise ToolMissing(f"{tool} not found: {hint}")
    return found


def _resolve(argv: Sequence[str]) -> list[str]:
    """Fail early, with a fix, when the program is missing. argv stays as given: the child's
    PATH (see _env) finds it, and tests can match argv by the bare program name."""
    which(argv[0])
    return list(argv)


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    input: str | None = None,
) -> Completed:
    """Run to completion, capturing output."""
    full = _resolve(argv)
    try:
        p = subprocess.run(full, capture_output=True, text=True, env=_env(env), cwd=cwd, input=input)
    except KeyboardInterrupt:
        raise Interrupted("interrupted") from None
    return Completed(tuple(argv), p.returncode, p.stdout, p.stderr)


def run_all(argvs: Sequence[Sequence[str]], *, cwd: str | Path | None = None) -> list[Completed]:
    """Run several programs at once, capturing their output; results in the order given.
    Ctrl-C stops them all: exit 130."""
    fulls = [_resolve(argv) for argv in argvs]
    children: list[subprocess.Popen] = []
    try:
        for full in fulls:
            children.append(
                subprocess.Popen(
                    full,
                    cwd=cwd,
                    env=_env(None),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    stdin=subprocess.DEVNULL,
                    text=True,
                    start_new_session=True,
                )
            )
        outputs = [child.communicate() for child in children]
    except KeyboardInterrupt:
        stop_groups([child.pid for child in children])
        for child in children:
            child.wait()  # reap: they are our children
        names = ", ".join(sorted({Path(argv[0]).name for argv in argvs}))
        raise Interrupted(f"interrupted: stopped {names}") from None
    return [
        Completed(tuple(argv), child.returncode, out, err) for argv, child, (out, err) in zip(argvs, children, outputs)
    ]


def stream(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    needs: Sequence[str] = (),
    to_stderr: bool = False,
) -> Completed:
    """Run with stdout going straight to the terminal and stderr echoed there as it comes
    (and kept, so callers can recognise known failures). Ctrl-C stops the child: exit 130.
    `needs`: other programs the child runs (helmfile runs helm), checked before it starts.
    `to_stderr`: the child's stdout goes to our stderr (a log followed while stdout is for -o json)."""
    full = _resolve(argv)
    for tool in needs:
        which(tool)
    out = sys.stderr if to_stderr else None
    child = subprocess.Popen(
        full, env=_env(env), cwd=cwd, stdout=out, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    kept: list[str] = []

    def pump() -> None:
        assert child.stderr is not None  # stderr=PIPE
        for line in child.stderr:
            sys.stderr.write(line)
            sys.stderr.flush()
            kept.append(line)

    reader = threading.Thread(target=pump, daemon=True)
    try:  # from the moment the child exists: Ctrl-C may come before wait() is reached
        reader.start()
        rc = child.wait()
    except KeyboardInterrupt:
        stop(child)
        raise Interrupted(f"interrupted: stopped {Path(argv[0]).name}") from None
    if rc < 0:
        # Killed: whatever it started (helm) is still in its session, changing the cluster on
        # its own and holding the stderr pipe open. Stop them too, and do not wait on the pipe.
        signal_group(child.pid, signal.SIGTERM)
        reader.join(5)
        signal_group(child.pid, signal.SIGKILL)
    reader.join(5)
    return Completed(tuple(argv), rc, "", "".join(kept))


def watch(
    argv: Sequence[str], on_stderr: Callable[[str], None], *, env: Mapping[str, str] | None = None, name: str = ""
) -> Completed:
    """Run to completion, capturing output like `run`, and hand stderr to `on_stderr` piece by
    piece as it comes (a progress bar's frames end in carriage returns, not lines). Ctrl-C stops
    the child and what it started: exit 130 (`name`: what the message calls it)."""
    return Watched(argv, on_stderr, env=env, name=name).wait()


class Watched:
    """A child started as `watch` starts it, for a caller that does something else before
    `wait()` (which returns what `watch` returns). `poll()`: its exit code once it has ended;
    `tell(line)`: what it waits for on stdin (stdin=subprocess.PIPE)."""

    def __init__(
        self,
        argv: Sequence[str],
        on_stderr: Callable[[str], None],
        *,
        env: Mapping[str, str] | None = None,
        name: str = "",
        stdin: int = subprocess.DEVNULL,
    ):
        self.argv, self.name = tuple(argv), name or Path(argv[0]).name
        self.child = subprocess.Popen(
            _resolve(argv),
            env=_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=stdin,
            start_new_session=True,
        )
        self._out: list[bytes] = []
        self._err: list[str] = []
        self._readers = [threading.Thread(target=f, daemon=True) for f in (self._drain_stdout, self._pump_stderr)]
        self._on_stderr = on_stderr
        for reader in self._readers:
            reader.start()

    def _drain_stdout(self) -> None:
        assert self.child.stdout is not None  # stdout=PIPE
        self._out.extend(iter(lambda: self.child.stdout.read(65536), b""))  # type: ignore[union-attr]

    def _pump_stderr(self) -> None:
        assert self.child.stderr is not None  # stderr=PIPE
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        while chunk := self.child.stderr.read1(65536):  # type: ignore[attr-defined]
            text = decoder.decode(chunk)
            self._err.append(text)
            with contextlib.suppress(Exception):  # a display problem must not lose the run
                self._on_stderr(text)

    def poll(self) -> int | None:
        return self.child.poll()

    def tell(self, line: str) -> None:
        """A line on its stdin (started with stdin=subprocess.PIPE)."""
        assert self.child.stdin is not None
        try:
            self.child.stdin.write(line.encode() + b"\n")
            self.child.stdin.flush()
        except BrokenPipeError:  # it has ended on its own: wait() says how
            pass

    def wait(self) -> Completed:
        try:
            rc = self.child.wait()
            for reader in self._readers:
                reader.join(10)  # not forever: something it left behind may hold its pipes open
        except KeyboardInterrupt:
            self.stop()
            raise Interrupted(f"interrupted: stopped {self.name}") from None
        finally:
            self._close_stdin()
        return Completed(self.argv, rc, b"".join(self._out).decode("utf-8", "replace"), "".join(self._err))

    def stop(self) -> None:
        stop(self.child)
        self._close_stdin()

    def _close_stdin(self) -> None:
        if self.child.stdin and not self.child.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.child.stdin.close()


# Every process compose spawns carries these in its environment, and so does everything it
# starts in turn (a browser in a session of its own, a worker's helpers): /proc/<pid>/environ
# finds them all, whatever group or session they moved to.
SPAWN_VAR = "DYNAMO_COMPOSE_SPAWN"  # one spawn: the child and its descendants
OWNER_VAR = "DYNAMO_COMPOSE_OWNER"  # what they belong to: a local graph's state dir
NAME_VAR = "DYNAMO_COMPOSE_NAME"  # which of its processes: decode-0, supervisor, aiperf-plot
_spawned = itertools.count()


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    log: Path,
    stdin: int = subprocess.DEVNULL,
    owner: str | None = None,
    name: str | None = None,
) -> subprocess.Popen:
    """Start a long-running child in its own session with output appended to `log`
    (stdin=subprocess.PIPE: the caller talks to it). The child's `marker` names it and its
    descendants (see SPAWN_VAR); `owner` and `name` mark it as a process of a local graph."""
    full = _resolve(argv)
    marker = f"{os.getpid()}.{time.time_ns()}.{next(_spawned)}"
    marks = {SPAWN_VAR: marker, **({OWNER_VAR: owner} if owner else {}), **({NAME_VAR: name} if name else {})}
    with open(log, "ab") as out:
        child = subprocess.Popen(
            full,
            env={**_env(env), **marks},
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=stdin,
            start_new_session=True,
        )
    child.marker = marker  # type: ignore[attr-defined]
    return child


def stop(child: subprocess.Popen, grace: float = 10.0) -> list[int]:
    """SIGTERM the child's process group and every process carrying its spawn marker (what it
    started elsewhere, e.g. a browser in a session of its own), SIGKILL what is left after
    `grace` seconds; reap the child. Returns the PIDs still alive (normally none)."""
    marker = getattr(child, "marker", None)
    left = stop_all([child.pid], {SPAWN_VAR: marker} if marker else None, grace)
    if child.poll() is None:
        child.wait()
    return left


def stop_all(pgids: Sequence[int], marks: Mapping[str, str] | None, grace: float = 10.0) -> list[int]:
    """Stop process groups (children of this or an earlier run, known by PID: each was spawned
    as the leader of its own session, so its PID is also its group) and every process whose
    environment has all of `marks`. SIGTERM, then SIGKILL what is left after `grace` seconds.
    Returns the PIDs still alive (normally none)."""
    # Group 0 is the caller's own, and the processes whose group lies outside this PID namespace
    # (init among them); 1 is init. Neither is ever a child of ours.
    pgids = [g for g in pgids if g > 1]
    seen: set[int] = set()  # a process tearing down has no environ to read any more, but still runs

    def left() -> list[int]:
        seen.update(marked(marks) if marks else ())
        return sorted(set(_left(pgids)) | {pid for pid in seen if alive(pid)})

    def signal_all(sig: int) -> None:
        for pgid in pgids:
            signal_group(pgid, sig)
        for pid in left():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)

    signal_all(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and left():
        time.sleep(0.05)
    if left():
        signal_all(signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and left():
            time.sleep(0.05)
    return left()


def marked(marks: Mapping[str, str]) -> dict[int, dict[str, str]]:
    """Live processes whose environment has every `marks` item: {pid: their DYNAMO_COMPOSE_*
    variables}. Processes we may not read are not ours."""
    want = [f"{k}={v}".encode() for k, v in marks.items()]
    found: dict[int, dict[str, str]] = {}
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if all(w in environ for w in want) and alive(int(entry.name)):
            found[int(entry.name)] = {
                k.decode(errors="replace"): v.decode(errors="replace")
                for k, _, v in (e.partition(b"=") for e in environ)
                if k.startswith(b"DYNAMO_COMPOSE_")
            }
    return found


def stop_groups(pgids: Sequence[int], grace: float = 10.0) -> list[int]:
    """stop_all of process groups alone."""
    return stop_all(pgids, None, grace)


def signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to the process group of a child spawned earlier (its PID is the group id).
    False when the group is gone already."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def wait_gone(pids: Sequence[int], timeout: float) -> list[int]:
    """Wait up to `timeout` seconds for `pids` to exit; returns those still alive."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


def alive(pid: int) -> bool:
    """Running, or stopped, but not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def start_ticks(pid: int) -> int | None:
    """When `pid` started, in clock ticks since boot: with the PID, it names one process, so a
    recorded PID that was reused by another program is not mistaken for ours."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def group_members(pgid: int) -> list[int]:
    """Live PIDs whose process group is `pgid` (the leader included); none for 0, which /proc
    shows for every process whose group lies outside this PID namespace."""
    if pgid <= 0:
        return []
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def _left(pgids: Sequence[int]) -> list[int]:
    return sorted({p for g in pgids for p in ([g] if alive(g) else []) + group_members(g)})


def _env(extra: Mapping[str, str] | None) -> dict[str, str]:
    return {**os.environ, "PATH": search_path(), **(extra or {})}
