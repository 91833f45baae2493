"""A real, tiny PNG standing in for a mini-program code image."""

from __future__ import annotations

import struct
import zlib

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def code_png(text: dict[str, str], size: int = 8) -> bytes:
    """A ``size``×``size`` grey PNG; ``text`` goes into tEXt chunks so tests can read the scene back."""
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = b"".join(b"\x00" + bytes((x * 32 + y * 16) % 256 for x in range(size)) for y in range(size))
    chunks = [_chunk(b"IHDR", header)]
    chunks += [
        _chunk(b"tEXt", key.encode("latin-1") + b"\x00" + value.encode("latin-1", "replace"))
        for key, value in text.items()
    ]
    chunks += [_chunk(b"IDAT", zlib.compress(rows)), _chunk(b"IEND", b"")]
    return _SIGNATURE + b"".join(chunks)
