"""Family-specific sub-commands; each module defines ``add_commands(subparsers)``."""

from zoverify.cli import _entk, _nzk, _stability

MODULES = (_nzk, _stability, _entk)
