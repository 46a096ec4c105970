"""Files on disk, atomically: one file (`replace_file`), a whole directory tree (`write_tree`),
one writer per project (`locked`); and reading a tree back to compare (`read_tree`, `diff_tree`)."""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import os
import secrets
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path


def replace_file(path: Path, data: bytes) -> None:
    """Write `path` whole or not at all: a reader sees the old content or the new, never part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """One writer at a time per project: a second `compose generate` waits for the first."""
    with open(root / ".compose.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def write_tree(target: Path, files: Mapping[str, str]) -> None:
    """Replace the directory `target` with exactly `files`, all or nothing. Callers that may race
    hold `locked`; leftovers of a run that was killed are recovered first."""
    parent = target.parent
    _recover(target)
    # Named before they exist: a signal that lands inside mkdir still finds them to remove.
    token = secrets.token_hex(8)
    tmp = parent / f".{target.name}.new-{token}"
    old = parent / f".{target.name}.old-{token}"
    try:
        tmp.mkdir(mode=0o700)
        for rel, text in sorted(files.items()):
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        os.chmod(tmp, 0o755)
        if not target.exists():
            os.rename(tmp, target)
            return
        try:
            old.mkdir(mode=0o700)
            os.rename(target, old / "tree")
            os.rename(tmp, target)
        except BaseException:
            if not target.exists() and (old / "tree").exists():  # interrupted between the two renames
                os.rename(old / "tree", target)
            raise
        finally:
            if target.exists():
                try:
                    shutil.rmtree(old, ignore_errors=True)
                except BaseException:  # Ctrl-C while cleaning up: finish the cleanup, then stop
                    shutil.rmtree(old, ignore_errors=True)
                    raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _recover(target: Path) -> None:
    """Undo what a killed write_tree left: restore a moved-away tree, drop temporary ones."""
    for old in sorted(target.parent.glob(f".{target.name}.old-*")):
        if not target.exists() and (old / "tree").is_dir():
            os.rename(old / "tree", target)
        shutil.rmtree(old, ignore_errors=True)
    for new in target.parent.glob(f".{target.name}.new-*"):
        shutil.rmtree(new, ignore_errors=True)


def read_tree(target: Path) -> dict[str, str]:
    if not target.is_dir():
        return {}
    return {str(p.relative_to(target)): p.read_text() for p in sorted(target.rglob("*")) if p.is_file()}


def diff_tree(target: Path, files: Mapping[str, str]) -> str:
    """A unified diff from what is on disk to what would be written; empty when up to date."""
    current = read_tree(target)
    out: list[str] = []
    for rel in sorted(set(current) | set(files)):
        a, b = current.get(rel), files.get(rel)
        if a == b:
            continue
        out.extend(
            difflib.unified_diff(
                (a or "").splitlines(keepends=True),
                (b or "").splitlines(keepends=True),
                fromfile=f"a/{target.name}/{rel}" if a is not None else "/dev/null",
                tofile=f"b/{target.name}/{rel}" if b is not None else "/dev/null",
            )
        )
    return "".join(out)
