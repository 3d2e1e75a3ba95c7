"""`python -m fmstack.cli`: the same as the `fmstack` command."""

from . import main

main()
