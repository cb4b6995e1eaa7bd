"""CLI commands of the nzk family."""


def add_commands(sub) -> None:
    """Register this family's sub-commands (none yet)."""
