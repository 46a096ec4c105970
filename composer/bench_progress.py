"""Progress of one AIPerf run while it runs: requests done / total, elapsed time, ETA.

The numbers are AIPerf's own: the local run starts `aiperf profile --ui-type simple`, whose
progress bars (tqdm, on stderr) say, for each phase, `Profiling: 40/80 |####| 50% [00:05<00:05]`.
`parse_aiperf_progress` reads them; `Meter` shows them: on a terminal one line rewritten in place,
elsewhere (a log, CI) a plain line at each quarter of the run, not more.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# tqdm's bar_format in aiperf 0.13.0 (ui/tqdm_ui.py): "{desc}: {n:,.0f}/{total:,} |{bar}| {percentage:3.0f}% [{elapsed}<{remaining}]"
_BAR = re.compile(
    r"(?P<phase>[A-Za-z][A-Za-z ]*?): (?P<done>[\d,]+)/(?P<total>[\d,]+) \|[^|]*\|\s*\d+% "
    r"\[(?P<elapsed>[\d:]+)<(?P<remaining>[\d:]+|\?)\]"
)


def parse_aiperf_progress(text: str) -> dict[str, Any] | None:
    """The newest progress bar in a piece of `aiperf profile --ui-type simple` output (frames
    separated by carriage returns, colours and all): {phase, done, total, eta_s}, eta_s None
    when AIPerf does not know it yet. None when the text holds no complete bar."""
    found = None
    for frame in re.split(r"[\r\n]", _ANSI.sub("", text)):
        m = _BAR.search(frame)
        if m:
            found = m
    if found is None:
        return None
    return {
        "phase": found["phase"].strip().lower(),
        "done": int(found["done"].replace(",", "")),
        "total": int(found["total"].replace(",", "")),
        "eta_s": None if found["remaining"] == "?" else _seconds(found["remaining"]),
    }


def _seconds(clock: str) -> int:
    """tqdm's [H:]MM:SS as seconds."""
    total = 0
    for part in clock.split(":"):
        total = total * 60 + int(part)
    return total


class Meter:
    """Shows the progress of each run in turn. `write` puts text on stderr as is; `tty`: stderr is
    a terminal (one line updated in place) or not (a line at each quarter of the requests)."""

    def __init__(self, write: Callable[[str], None], *, tty: bool, clock: Callable[[], float] = time.monotonic):
        self.write, self.tty, self.clock = write, tty, clock
        self.name = ""
        self.started = 0.0
        self.shown = ""  # the terminal line now on screen
        self.quarter = -1  # the last quarter of the profiling phase said on a plain line
        self.pending = ""  # output of AIPerf not yet ending in a frame separator
        self.last: tuple[float, dict[str, Any]] | None = None  # the newest bar, and when it came
        self.lock = threading.Lock()  # feed (the stderr reader) and tick (a timer) both write

    def start(self, name: str) -> None:
        self.name, self.started, self.quarter, self.pending, self.last = name, self.clock(), -1, "", None

    def tick(self) -> None:
        """Called every second or so: on a terminal the elapsed time (and the ETA) move on even
        while AIPerf says nothing, as while it starts (~10 s of imports and services)."""
        if not self.tty:
            return
        with self.lock:
            if self.last is None:
                line = f"  aiperf {self.name}: starting AIPerf, {self.clock() - self.started:.0f} s elapsed"
            else:
                at, progress = self.last
                eta = progress["eta_s"]
                line = self.line(
                    {**progress, "eta_s": None if eta is None else max(0, round(eta - (self.clock() - at)))}
                )
            self._rewrite(line)

    def _rewrite(self, line: str) -> None:
        if line != self.shown:
            self.write("\r\x1b[K" + line)
            self.shown = line

    def feed(self, chunk: str) -> None:
        """A piece of AIPerf's stderr, as it comes."""
        text = self.pending + chunk
        cut = max(text.rfind("\r"), text.rfind("\n"))
        if cut < 0:
            self.pending = text[-4096:]
            return
        self.pending = text[cut + 1 :]
        for frame in re.split(r"[\r\n]", text[:cut]):  # each frame: a quarter may pass in any of them
            progress = parse_aiperf_progress(frame)
            if progress:
                self.show(progress)

    def show(self, progress: dict[str, Any]) -> None:
        line = self.line(progress)
        if self.tty:
            with self.lock:
                self.last = (self.clock(), progress)
                self._rewrite(line)
            return
        if progress["phase"] != "profiling" or not progress["total"]:
            return
        quarter = 4 * progress["done"] // progress["total"]
        if quarter > self.quarter:
            self.quarter = quarter
            self.write(line + "\n")

    def line(self, progress: dict[str, Any]) -> str:
        elapsed = self.clock() - self.started
        eta = progress["eta_s"]
        what = "records" if "records" in progress["phase"] else "requests"  # AIPerf's last phase counts records
        return (
            f"  aiperf {self.name}: {progress['phase']} {progress['done']}/{progress['total']} {what}, "
            f"{elapsed:.0f} s elapsed" + ("" if eta is None else f", ETA {eta} s")
        )

    def end(self) -> None:
        """The run ended: the terminal line goes, for what comes next."""
        with self.lock:
            if self.tty and self.shown:
                self.write("\r\x1b[K")
            self.shown = ""
