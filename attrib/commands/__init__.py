"""Subcommands of the ``attrib`` CLI, one module per command or command group."""

__all__: list[str] = []
