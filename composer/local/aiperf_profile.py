"""`aiperf profile <args>`, with its ~1.5 s of imports done before it may start.

compose's local bench starts the next level with this while the current level is measured. The
imports then run at the lowest CPU priority (the autogroup nice of this process's own session:
under autogroup scheduling, Linux's default, that is what ranks sessions against each other), so
the level being measured keeps the CPU. A line on stdin says that level's requests have all
returned: the profile then runs at normal priority, as `aiperf profile` runs. EOF instead (the
bench failed, or compose is gone) exits without running. Without autogroup, or outside a session
of its own, nothing is imported before the line: a process's own nice cannot be lowered again
unprivileged, and a measured run must not run at nice 19.

It runs in the aiperf venv: it must not import composer.
"""

import importlib
import os
import sys

# what `aiperf profile` imports before it starts its services (aiperf/cli_commands/profile.py, 0.13.0)
PROFILE_IMPORTS = (
    "aiperf.cli",
    "aiperf.cli_utils",
    "aiperf.config.flags.resolver",
    "aiperf.config.loader",
    "aiperf.cli_runner",
    "aiperf.cli_runner._single_run",
)


def session_nice(nice: int) -> bool:
    """Set this session's autogroup nice; False where there is none, or the session is not ours."""
    if os.getsid(0) != os.getpid():
        return False
    try:
        with open("/proc/self/autogroup", "w") as group:
            group.write(str(nice))
    except OSError:
        return False
    return True


def main(args: list[str]) -> int:
    warm = session_nice(19)
    if warm:
        for name in PROFILE_IMPORTS:
            importlib.import_module(name)
    if not sys.stdin.readline():
        return 0
    if warm:
        session_nice(0)
    from aiperf.cli import app

    return app(args)


if __name__ == "__main__":
    sys.argv[0] = "aiperf"
    sys.exit(main(sys.argv[1:]))
