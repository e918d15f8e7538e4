"""API keys: created once, stored only as SHA-256 hashes, revocable.

A key looks like ``atb_<id>_<secret>``: ``id`` (8 hex digits) finds the record, the secret's
hash is compared in constant time. Keys are random 256-bit values, so a fast hash is the right
tool (the same choice as GitHub's and Stripe's token stores); nothing secret is ever stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from attrib._atomic import private_file
from attrib.errors import ConfigError

__all__ = ["KeyRecord", "KeyStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
)
"""


@dataclass(frozen=True)
class KeyRecord:
    """A stored key (never the secret)."""

    key_id: str
    name: str
    created_at: str
    revoked_at: str | None

    @property
    def revoked(self) -> bool:
        """Whether the key was revoked."""
        return self.revoked_at is not None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(key: str) -> tuple[str, str] | None:
    parts = key.strip().split("_")
    if len(parts) != 3 or parts[0] != "atb" or len(parts[1]) != 8:
        return None
    return parts[1], parts[2]


class KeyStore:
    """API keys in a small SQLite database.

    Parameters
    ----------
    path
        The database file (created with its folder on first write).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _connect(self, create: bool = False) -> sqlite3.Connection:
        if not create and not self.path.exists():
            raise ConfigError(
                f"{self.path}: no API key database (create a key with 'attrib keys create')"
            )
        try:
            if create:
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                private_file(self.path)
            con = sqlite3.connect(self.path, timeout=5.0)
            con.execute(_SCHEMA)
        except (OSError, sqlite3.DatabaseError) as exc:
            raise ConfigError(f"{self.path}: cannot open API key database: {exc}") from None
        return con

    def create(self, name: str) -> tuple[KeyRecord, str]:
        """Create a key; the full key is returned once and never stored.

        Parameters
        ----------
        name
            A label (e.g. the SIEM it is for).

        Returns
        -------
        (KeyRecord, str)
            The record and the key to hand out.
        """
        if not name.strip():
            raise ConfigError("a key needs a non-empty name")
        key_id = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32).replace("_", "-")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        con = self._connect(create=True)
        with con:
            con.execute(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, NULL)", (key_id, name, _hash(secret), now)
            )
        con.close()
        return KeyRecord(key_id, name, now, None), f"atb_{key_id}_{secret}"

    def list(self) -> list[KeyRecord]:
        """All keys, oldest first.

        Returns
        -------
        list of KeyRecord
            The stored keys.
        """
        if not self.path.exists():
            return []
        con = self._connect()
        rows = con.execute(
            "SELECT key_id, name, created_at, revoked_at FROM api_keys ORDER BY created_at, key_id"
        ).fetchall()
        con.close()
        return [KeyRecord(*r) for r in rows]

    def revoke(self, key_id_or_name: str) -> int:
        """Revoke keys by id or name.

        Parameters
        ----------
        key_id_or_name
            A key id (8 hex digits) or a key name.

        Returns
        -------
        int
            Number of keys revoked.
        """
        now = datetime.now(UTC).isoformat(timespec="seconds")
        con = self._connect()
        with con:
            cur = con.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE (key_id = ? OR name = ?) "
                "AND revoked_at IS NULL",
                (now, key_id_or_name, key_id_or_name),
            )
        con.close()
        return cur.rowcount

    def verify(self, key: str) -> KeyRecord | None:
        """Return the record of a valid-looking, known key (revoked or not), else ``None``.

        Parameters
        ----------
        key
            The presented key.

        Returns
        -------
        KeyRecord or None
            The matching record.
        """
        parts = _split(key)
        if parts is None or not self.path.exists():
            return None
        key_id, secret = parts
        con = self._connect()
        row = con.execute(
            "SELECT key_id, name, created_at, revoked_at, secret_sha256 FROM api_keys "
            "WHERE key_id = ?",
            (key_id,),
        ).fetchone()
        con.close()
        if row is None or not hmac.compare_digest(row[4], _hash(secret)):
            return None
        return KeyRecord(*row[:4])
