"""A durable :class:`~kubenb.apiserver.store.Backend` in SQLite.

Each write is committed before the store acknowledges it (WAL journal, ``synchronous=NORMAL``:
a crashed process loses nothing it acknowledged; a power cut may lose the last transactions, which
``synchronous=FULL`` would prevent at the cost of an fsync per write). The whole state is loaded at
start: the store stays an in-memory store with a log underneath, as kube-apiserver's watch cache
is to etcd.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from kubenb.api.resources import StorageKey

__all__ = ["SQLiteBackend"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    grp TEXT NOT NULL, resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    rv INTEGER NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (grp, resource, namespace, name)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class SQLiteBackend:
    """Objects keyed by (group, resource, namespace, name), plus the resourceVersion counter."""

    def __init__(self, path: str | Path, *, synchronous: str = "NORMAL") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def load(self) -> tuple[int, Iterable[tuple[StorageKey, tuple[str, str], bytes]]]:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'rv'").fetchone()
        rv = int(row[0]) if row else 0
        rows = self._db.execute(
            "SELECT grp, resource, namespace, name, body FROM objects ORDER BY rv").fetchall()
        return rv, [((g, r), (ns, n), bytes(body)) for g, r, ns, n, body in rows]

    def put(self, storage: StorageKey, key: tuple[str, str], raw: bytes, rv: int) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT OR REPLACE INTO objects (grp, resource, namespace, name, rv, body) "
                "VALUES (?, ?, ?, ?, ?, ?)", (*storage, *key, rv, raw))
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('rv', ?)", (rv,))
            self._db.execute("COMMIT")

    def delete(self, storage: StorageKey, key: tuple[str, str], rv: int) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute(
                "DELETE FROM objects WHERE grp = ? AND resource = ? AND namespace = ? "
                "AND name = ?", (*storage, *key))
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('rv', ?)", (rv,))
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()
