"""The tags' watermarks in the spool file: one small value per key, committed with the records it names.

The table is called ``states`` on disk (the name its first version gave it); each row keeps a CRC-32
over the key and the value, so that a damaged one is forgotten rather than believed.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Mapping

__all__ = ["WatermarkTable", "watermark_crc"]


def watermark_crc(key: str, value: bytes) -> int:
    """The CRC-32 kept beside a watermark."""
    return zlib.crc32(value, zlib.crc32(key.encode()))


class WatermarkTable:
    """The table ``states``; each call with ``_db_lock`` held, inside a transaction where it writes."""

    @staticmethod
    def store(conn: sqlite3.Connection, watermarks: Mapping[str, bytes]) -> None:
        """Store ``watermarks``, replacing the keys' earlier values (in the transaction of ``conn``)."""
        conn.executemany(
            "INSERT OR REPLACE INTO states VALUES (?, ?, ?)",
            [(key, value, watermark_crc(key, value)) for key, value in watermarks.items()],
        )

    @staticmethod
    def read(conn: sqlite3.Connection) -> tuple[dict[str, bytes], list[str]]:
        """Every watermark whose CRC-32 holds, and the keys of those whose CRC-32 fails."""
        watermarks: dict[str, bytes] = {}
        damaged = []
        for key, raw, crc in conn.execute("SELECT key, value, crc FROM states"):
            value = bytes(raw)
            if watermark_crc(key, value) == crc:
                watermarks[key] = value
            else:
                damaged.append(key)
        return watermarks, damaged
