"""`aiperf profile <args>`, as compose's local bench runs each level of a sweep.

A level starts up while the level before it still processes, exports and stops its services
(~3 s), and measures only once that level's process has ended: profiling (AIPerf's PROFILE_START
to its services) waits for a line on stdin, which compose sends then, so that the previous level's
work does not share this level's measurement. EOF instead of the line: it measures at once.

One more difference from `aiperf profile`: a tokenizer given as a local directory is not
"prefetched" (prefetch_no_local_tokenizer).

It runs in the aiperf venv: it must not import composer. It patches AIPerf 0.13.0's own functions
(the pinned version; tests/test_bench.py runs it).
"""

import asyncio
import os
import sys


def prefetch_no_local_tokenizer() -> None:
    """AIPerf 0.13.0 "prefetches" every tokenizer it does not find in the Hugging Face cache by
    loading it in a new process (aiperf/common/tokenizer_validator.py, ~1.1 s), a local directory
    too (compose's runs name the snapshot directory), which has nothing to download: count a local
    directory as cached. AIPerf's own services load it as before."""
    from aiperf.common import tokenizer_validator

    partition = tokenizer_validator._partition_cached_names

    def cached_or_local(names, **kwargs):
        local = {name for name in names if os.path.isdir(name)}
        cached, to_fetch = partition(names - local, **kwargs)
        return cached | local, to_fetch

    tokenizer_validator._partition_cached_names = cached_or_local


def profile_when_told() -> None:
    from aiperf.controller.system_controller import SystemController

    start = SystemController._start_profiling_all_services

    async def when_told(self) -> None:
        await asyncio.to_thread(sys.stdin.readline)
        await start(self)

    SystemController._start_profiling_all_services = when_told


def main(args: list[str]) -> int:
    from aiperf.cli import app

    prefetch_no_local_tokenizer()
    profile_when_told()
    return app(args)


if __name__ == "__main__":
    sys.argv[0] = "aiperf"
    sys.exit(main(sys.argv[1:]))
