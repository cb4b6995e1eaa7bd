"""python -m zoverify.cli: the command line."""

from zoverify.cli import run

run()
