"""File names as stored and shown: every name a file system can hold, kept losslessly as readable text.

A POSIX file name is bytes, and old disks and Samba shares hold names that are not UTF-8; Python hands them
over with surrogates that no store, JSON encoder or terminal accepts. A name that is valid UTF-8 with no
backslash, control character or bidirectional override is stored as it is (nearly every name). In any other
name, each byte that is not UTF-8 is written `\\xNN`, a control character `\\xNN` or `\\uNNNN`, a
bidirectional override `\\uNNNN` (it would show the name reversed), and a backslash `\\\\`: readable, and
`file_path` gives back the very bytes.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

# Characters that reorder the text around them (a name `photo\u202egpj.exe` shows as `photoexe.jpg`).
_BIDI_CONTROLS = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A)) | {0x200E, 0x200F, 0x061C}
_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4})")


def stored_name(path: str | os.PathLike[str] | bytes) -> str:
    """The name (or path) as text to store and show."""
    text = os.fsencode(path).decode("utf-8", "surrogateescape")
    if text.isprintable() and "\\" not in text:
        return text
    out = []
    for char in text:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, as surrogateescape carries it
            out.append(f"\\x{code - 0xDC00:02x}")
        elif char == "\\":
            out.append("\\\\")
        elif unicodedata.category(char) == "Cc" or code in _BIDI_CONTROLS:
            out.append(f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def file_path(name: str) -> Path:
    """The path a `stored_name` was made from, byte for byte."""
    if "\\" not in name:
        return Path(name)
    raw, at = bytearray(), 0
    for escape in _ESCAPE.finditer(name):
        raw += name[at:escape.start()].encode("utf-8")
        code = escape.group(1)
        raw += b"\\" if code == "\\" else bytes([int(code[1:], 16)]) if code[0] == "x" else chr(int(code[1:], 16)).encode()
        at = escape.end()
    raw += name[at:].encode("utf-8")
    return Path(os.fsdecode(bytes(raw)))
