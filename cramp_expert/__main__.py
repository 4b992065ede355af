"""`python -m cramp_expert` runs the command line."""

from cramp_expert.cli import main

main()
