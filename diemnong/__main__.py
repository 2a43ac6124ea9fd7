"""`python -m diemnong` is the `diemnong` command."""

from diemnong.cli import main

main()
