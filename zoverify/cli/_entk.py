"""CLI commands of the entk family."""


def add_commands(sub) -> None:
    """Register this family's sub-commands (none yet)."""
