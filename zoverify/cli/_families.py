"""Family-specific sub-commands (nzk, stability, entk-variance, jl, ...).

Each family's module defines ``add_commands(subparsers)``; list it here.
"""

MODULES: tuple = ()
