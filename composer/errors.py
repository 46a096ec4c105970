"""The exceptions a user may see. Everything else is a bug."""
from __future__ import annotations

from dataclasses import dataclass

from composer import secrets


def quoted(text: str, *, last: int | None = None, empty: str = "(no output)") -> str:
    """Another program's output as compose shows it in a message: its last `last` lines (all
    without), two spaces in."""
    lines = text.rstrip().splitlines()
    return "\n".join("  " + line for line in (lines[-last:] if last else lines)) or f"  {empty}"


class ComposeError(Exception):
    """A failure the user can act on: printed as one message, never as a traceback."""

    exit_code = 1


class UsageError(ComposeError):
    """Bad input (values file, options): exit code 2."""

    exit_code = 2


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
