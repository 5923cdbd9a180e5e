"""python -m harness: the same as the `spyh` command."""

from harness.cli import main

main()
