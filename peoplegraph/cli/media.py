"""`peoplegraph media new-key`: a key for encrypting the media peoplegraph keeps."""

from __future__ import annotations

import click

from peoplegraph.media.cipher import MediaCipher


@click.group("media")
def media() -> None:
    """The media peoplegraph keeps: uploaded originals, thumbnails, face crops."""


@media.command("new-key")
def new_key() -> None:
    """Print a new media key (base64, 32 random bytes). Keep it outside the data folder (a file named by
    PEOPLEGRAPH_MEDIA_KEY_FILE, or PEOPLEGRAPH_MEDIA_KEY from a secrets store): without it, encrypted media
    cannot be read, and a backup does not hold it."""
    click.echo(MediaCipher.generate_key())


COMMANDS = (media,)
