"""The ``zoverify`` command line.

Each sub-command lives in its own module exposing ``add_commands(subparsers)``;
those modules import only argparse-level code at the top and their numerics
(torch, sympy, numpy) inside the function that runs the command, so ``--help``
and the exact queries stay fast.  Bad input of any kind ends as one line on
stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys

from zoverify._errors import ZoverifyError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump) and exit 2."""

    def error(self, message: str):
        """Raise a ZoverifyError (exit 2, one line) instead of argparse's exit with usage text."""
        raise ZoverifyError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    """The full parser.  Command modules import their numerics only when a command runs."""
    from zoverify.cli import _audit, _check, _entk, _moments, _nzk, _stability, _stepsize, _sweep

    # the order of `zoverify --help`
    commands = (_check, _audit, _moments, _nzk, _stability, _stepsize, _entk, _sweep)

    parser = OneLineParser(prog="zoverify", description="Verify claims about zeroth-order training dynamics.")
    sub = parser.add_subparsers(dest="command", parser_class=OneLineParser, metavar="COMMAND")
    sub.required = True
    for module in commands:
        module.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: returns the exit code (0 all claims hold, 1 one fails, 2 bad input)."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return int(args.run(args) or 0)
    except ZoverifyError as exc:
        print(f"zoverify: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("zoverify: interrupted", file=sys.stderr)
        return 130


def run() -> None:
    """Console-script wrapper."""
    sys.exit(main())
