"""``python -m zoverify``."""

from zoverify.cli import run

run()
