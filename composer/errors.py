"""Every exception a user may see, and compose's exit codes. Everything else is a bug: `cli.py`
prints it as one line and the path of a log holding the traceback (exit 70)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from composer import secrets


def quoted(text: str, *, last: int | None = None, empty: str = "(no output)") -> str:
    """Another program's output as compose shows it in a message: its last `last` lines (all
    without), two spaces in."""
    lines = text.rstrip().splitlines()
    return "\n".join("  " + line for line in (lines[-last:] if last else lines)) or f"  {empty}"


class ExitCode(enum.IntEnum):
    """compose's exit codes; the README's table lists the same (tests/test_errors.py)."""

    OK = 0
    FAILED = 1  # helmfile/helm/kubectl failed, a check failed, or `generate --check` found stale files
    BAD_INPUT = 2  # values file, overlay or options; every problem located
    CHANGES = 3  # `compose diff`: the cluster differs from the files
    NO_RELEASE_MATCHED = 4
    NOT_READY = 5  # `compose up`: installed, but the DynamoGraphDeployment did not report Ready in time
    BUG = 70  # an unexpected exception (sysexits' EX_SOFTWARE)
    TOOL_MISSING = 127  # as a shell says of a command it cannot find
    INTERRUPTED = 130  # 128 + SIGINT, as a shell says


def crash_log(e: BaseException) -> str:
    """Write the traceback of an unexpected exception to a new file outside the project; its path."""
    import os
    import tempfile
    import traceback

    fd, path = tempfile.mkstemp(prefix="compose-crash-", suffix=".log")
    with os.fdopen(fd, "w") as f:
        f.write(secrets.mask("".join(traceback.format_exception(e)), "<credential>"))
    return path


def crash_line(e: BaseException, log: str) -> str:
    what = secrets.mask(str(e).splitlines()[0] if str(e) else "", "<credential>")
    return (
        f"unexpected {type(e).__name__}{': ' + what if what else ''} (a bug in compose; "
        f"the traceback is in {log}: please attach it to a bug report)"
    )


class ComposeError(Exception):
    """A failure the user can act on: printed as one message, never as a traceback."""

    exit_code: int = ExitCode.FAILED


class UsageError(ComposeError):
    """Bad input (values file, options)."""

    exit_code = ExitCode.BAD_INPUT


class RenderFailed(ComposeError):
    """helm (or helmfile) refused to render a release."""


class HelmfileFailed(ComposeError):
    pass


class NoReleaseMatched(ComposeError):
    exit_code = ExitCode.NO_RELEASE_MATCHED


class NotReady(ComposeError):
    """The releases are installed, but the graph did not report Ready in time."""

    exit_code = ExitCode.NOT_READY


class WrongContext(ComposeError):
    """The current kube context is not the one the environment pins."""


class ToolMissing(ComposeError):
    exit_code = ExitCode.TOOL_MISSING


class Interrupted(ComposeError):
    """Ctrl-C while a child ran: the child was stopped."""

    exit_code = ExitCode.INTERRUPTED


@dataclass(frozen=True, order=True)
class Problem:
    """One located problem in an input file."""

    file: str
    line: int  # 1-based; 0 when unknown
    column: int  # 1-based; 0 when unknown
    pointer: str  # JSON pointer into the merged document, "" for the root
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        text = f"{where}: {self.pointer or '/'}: {self.message}"
        text = f"{text}\n  hint: {self.hint}" if self.hint else text
        # A key that is a credential is in the pointer; no message is the place for one
        return secrets.mask(text, "<credential>")


class InvalidValues(UsageError):
    """One or more problems in the values file or its overlay, reported together."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))
