"""The `peoplegraph` command: `main` (every command, the settings as global flags), `linking` (the editor's
commands), `backup` (backup and restore), `common` (what they share)."""

from peoplegraph.cli.main import main

__all__ = ["main"]
