"""`MediaCipher`: authenticated encryption of media files at rest (AES-256-GCM, from `cryptography`).

A file is `PGE1` + a 12-byte random nonce + the ciphertext and its 16-byte tag; the file's own name within
the media store is the associated data, so a file moved to another name fails to decrypt instead of showing
the wrong photo. The key (32 bytes) comes from a key file or an environment variable and is never written
into the data folder: a key kept beside what it protects protects nothing.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"PGE1"
NONCE_BYTES = 12
TAG_BYTES = 16  # AES-GCM's authentication tag
SEALED_OVERHEAD = len(MAGIC) + NONCE_BYTES + TAG_BYTES  # a sealed file is this much larger than the data
KEY_BYTES = 32


class MediaKeyError(ValueError):
    """The media key is missing, malformed, misplaced, or not the one the files were written with."""


class MediaCipher:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise MediaKeyError(f"media key: {len(key)} bytes; AES-256 needs {KEY_BYTES}")
        self._aead = AESGCM(key)

    @classmethod
    def generate_key(cls) -> str:
        """A new key, base64 (what `peoplegraph media new-key` prints)."""
        return base64.b64encode(os.urandom(KEY_BYTES)).decode()

    @classmethod
    def from_settings(cls, key: str, key_file: Path | None, data_dir: Path) -> MediaCipher | None:
        """The cipher of `media_key` (base64) or `media_key_file` (a file holding the base64 key), or None when
        neither is set (media stored as they are)."""
        if key and key_file is not None:
            raise MediaKeyError("media key: set PEOPLEGRAPH_MEDIA_KEY or PEOPLEGRAPH_MEDIA_KEY_FILE, not both")
        if key_file is not None:
            path = Path(key_file).expanduser().resolve()
            if path.is_relative_to(Path(data_dir).resolve()):
                raise MediaKeyError(f"media key file {path}: inside the data folder {data_dir}, beside what it "
                                    "protects; keep it elsewhere (another disk, a secrets mount)")
            try:
                key = path.read_text().strip()
            except OSError as exc:
                raise MediaKeyError(f"media key file {path}: cannot read it ({exc.strerror or exc})") from None
        if not key:
            return None
        try:
            raw = base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            raise MediaKeyError("media key: not base64 (make one with `peoplegraph media new-key`)") from None
        return cls(raw)

    def seal(self, data: bytes, name: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return MAGIC + nonce + self._aead.encrypt(nonce, data, name.encode())

    def open(self, sealed: bytes, name: str) -> bytes:
        if not sealed.startswith(MAGIC):
            raise MediaKeyError(f"{name}: not encrypted, but a media key is set (written before the key was)")
        nonce = sealed[len(MAGIC):len(MAGIC) + NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, sealed[len(MAGIC) + NONCE_BYTES:], name.encode())
        except InvalidTag:
            raise MediaKeyError(f"{name}: cannot be decrypted with this media key (another key, or the file "
                                "was altered)") from None
