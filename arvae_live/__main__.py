"""`python -m arvae_live ...` is the same as `arvae-live ...`."""

from arvae_live.cli import main

main()
