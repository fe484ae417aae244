"""`python -m training ...` is the same as `arvae-train ...`."""

from training.cli import main

main()
