"""`python -m composer`: the `compose` command."""

from composer.cli import main

main()
