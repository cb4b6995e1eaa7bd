"""CLI commands of the stability family."""


def add_commands(sub) -> None:
    """Register this family's sub-commands (none yet)."""
