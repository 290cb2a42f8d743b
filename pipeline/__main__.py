"""`python -m pipeline` does what the `ictplan` command does."""

from pipeline.cli import main

main()
