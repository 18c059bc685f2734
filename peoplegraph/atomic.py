"""Files written whole or not at all: a temporary file beside the target, flushed to disk, then renamed over
it (a crash leaves the old file or the new one, never half of one)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def atomic_save(path: Path, write: Callable[[BinaryIO], object]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def atomic_write(path: Path, data: bytes) -> None:
    atomic_save(path, lambda handle: handle.write(data))
