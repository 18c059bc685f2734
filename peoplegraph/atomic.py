"""Files written whole or not at all: a temporary file beside the target, flushed to disk, then renamed over
it (a crash leaves the old file or the new one, never half of one)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def atomic_save(path: Path, write: Callable[[BinaryIO], object], mode: int = 0o666) -> None:
    """`mode`: the file's permissions (less the umask) from its creation on, so a secret is never readable
    by others, not even for a moment."""
    temporary = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()  # left by a crash, perhaps with wider permissions
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def atomic_write(path: Path, data: bytes, mode: int = 0o666) -> None:
    atomic_save(path, lambda handle: handle.write(data), mode)
