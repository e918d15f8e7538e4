"""The sightings store: what attrib has seen of each origin, per day, across runs.

Ephemeral infrastructure is only visible across time: an exit that lived for two days in one
week and was gone the next looks the same as a long-lived one inside a single run. The store
keeps, per origin and per UTC day, that the origin was seen (and how often), plus each run's
snapshot of the origin (enrichment, features, score, cluster, reasons) and its clusters.

It is one SQLite file in WAL mode (see ``docs/analyze.md`` for why SQLite rather than DuckDB):

* each run is appended in **one transaction** (``BEGIN IMMEDIATE`` ... ``COMMIT``), so a run
  killed mid-way leaves the store exactly as it was;
* readers (``attrib store info``, the HTTP service's :meth:`SightingsStore.lookup`) query while a
  run writes and see the last committed state;
* a file that is not a store (or is damaged) raises one-line :class:`~attrib.errors.StoreError`.

>>> store = SightingsStore("sightings.db")  # doctest: +SKIP
>>> store.lookup(["203.0.113.7"])  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from attrib.errors import StoreError
from attrib.schema import STORE_LOOKUP_COLUMNS
from attrib.store import _sql

__all__ = ["LOOKUP_COLUMNS", "SCHEMA_VERSION", "SightingsStore"]

logger = logging.getLogger(__name__)

#: ``PRAGMA user_version`` of the layout below; other values are refused.
SCHEMA_VERSION = 1
_APP_ID = 0x41545242  # "ATRB": tells our files from other SQLite databases

LOOKUP_COLUMNS = STORE_LOOKUP_COLUMNS  # the name this module has always exported


class SightingsStore:
    """History of origins across runs, in one SQLite file (WAL mode).

    Parameters
    ----------
    path
        The store file; created (with parent folders) unless ``read_only``.
    read_only
        Open for queries only (the file must exist). Safe while another process writes.
    timeout
        Seconds to wait for another writer's lock before raising :class:`StoreError`.

    Examples
    --------
    >>> with SightingsStore("sightings.db") as s:  # doctest: +SKIP
    ...     s.append_run("run-1", origins, clusters, {"inputs": ["conn.log"]}, days=days)
    """

    def __init__(
        self, path: str | os.PathLike[str], read_only: bool = False, timeout: float = 30.0
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._timeout = timeout
        self._conn = self._open()

    # -- connection ------------------------------------------------------------------------
    def _fail(self, exc: BaseException, doing: str) -> StoreError:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, sqlite3.OperationalError) and "locked" in msg:
            return StoreError(f"{self.path}: store is locked by another run ({doing})")
        if isinstance(exc, sqlite3.OperationalError) and ("disk" in msg and "full" in msg):
            return StoreError(f"{self.path}: cannot write the store: no space left on device")
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            return StoreError(f"{self.path}: not a valid attrib sightings store ({msg})")
        return StoreError(f"{self.path}: cannot {doing}: {msg}")

    def _open(self) -> sqlite3.Connection:
        if self.read_only and not self.path.is_file():
            raise StoreError(f"{self.path}: no such sightings store")
        if self.path.exists() and not self.path.is_file():
            raise StoreError(f"{self.path}: is not a file")
        try:
            if self.read_only:
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                conn = sqlite3.connect(uri, uri=True, timeout=self._timeout,
                                       isolation_level=None, check_same_thread=False)  # fmt: skip
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None,
                                       check_same_thread=False)  # fmt: skip
        except (sqlite3.Error, OSError) as exc:
            raise self._fail(exc, "open the store") from None
        try:
            self._init(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise self._fail(exc, "open the store") from None
        return conn

    def _init(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA foreign_keys=ON")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if tables == 0 and version == 0 and not self.read_only:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                for stmt in _sql.SCHEMA_SQL.split(";"):
                    if stmt.strip():
                        conn.execute(stmt)
            except sqlite3.Error:
                conn.execute("ROLLBACK")
                raise
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute(f"PRAGMA application_id={_APP_ID}")
            conn.execute("COMMIT")
            return
        if app_id != _APP_ID:
            raise StoreError(f"{self.path}: not an attrib sightings store (foreign SQLite file)")
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: store layout version {version}, this attrib reads "
                f"{SCHEMA_VERSION}; export it with the attrib that wrote it"
            )
        if not self.read_only:
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> SightingsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _read(self, doing: str) -> Iterator[sqlite3.Connection]:
        try:
            yield self._conn
        except sqlite3.Error as exc:
            raise self._fail(exc, doing) from None

    # -- writing ---------------------------------------------------------------------------
    def append_run(
        self,
        run_id: str,
        origins: pd.DataFrame,
        clusters: pd.DataFrame | None = None,
        meta: dict[str, Any] | None = None,
        *,
        days: pd.DataFrame | None = None,
    ) -> None:
        """Record one run, all or nothing.

        Parameters
        ----------
        run_id
            Unique id of the run (refused if already stored).
        origins
            The scored origins table (``ip``, ``first_seen``, ``last_seen``, enrichment,
            features, ``score``, ``rank``, ``cluster``, ``reasons``; missing columns are null).
        clusters
            The clusters table (:data:`attrib.schema.CLUSTER_COLUMNS`).
        meta
            Free-form run metadata (JSON-serialisable), e.g. the ``run.json`` content.
        days
            Per-origin daily activity: ``ip``, ``day`` (date or timestamp), ``events``. When
            absent, the days of ``first_seen`` and ``last_seen`` are recorded.
        """
        if self.read_only:
            raise StoreError(f"{self.path}: opened read-only")
        meta = dict(meta or {})
        clusters = clusters if clusters is not None else pd.DataFrame()
        day_rows = _sql.day_rows(origins, days, run_id)
        origin_rows = _sql.origin_rows(origins, run_id)
        cluster_rows = _sql.cluster_rows(clusters, run_id)
        lo = min((r[2] for r in origin_rows if r[2]), default=None)
        hi = max((r[3] for r in origin_rows if r[3]), default=None)
        run_row = (run_id, datetime.now(UTC).isoformat(), lo, hi, len(origin_rows),
                   len(cluster_rows), json.dumps(meta, default=str))  # fmt: skip
        c = self._conn
        try:
            c.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._fail(exc, "start writing the run") from None
        try:
            if c.execute("SELECT 1 FROM runs WHERE run_id=?", (run_id,)).fetchone():
                raise StoreError(f"{self.path}: run {run_id!r} is already stored")
            c.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?)", run_row)
            self._write_rows(c, day_rows, origin_rows, cluster_rows)
            c.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                c.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._fail(exc, "write the run") from None
            raise
        logger.info(
            "store %s: run %s appended (%d origins, %d days, %d clusters)",
            self.path, run_id, len(origin_rows), len(day_rows), len(cluster_rows),
        )  # fmt: skip

    def _write_rows(
        self,
        c: sqlite3.Connection,
        day_rows: list[tuple[Any, ...]],
        origin_rows: list[tuple[Any, ...]],
        cluster_rows: list[tuple[Any, ...]],
    ) -> None:
        """Insert the run's rows (inside the caller's transaction)."""
        c.executemany("INSERT INTO origins VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", origin_rows)
        c.executemany("INSERT OR REPLACE INTO sightings VALUES (?,?,?,?)", day_rows)
        c.executemany("INSERT INTO clusters VALUES (?,?,?,?,?,?,?,?)", cluster_rows)

    # -- reading ---------------------------------------------------------------------------
    def lookup(self, ips: Iterable[str]) -> pd.DataFrame:
        """What the store knows about each address, aligned to ``ips``.

        This is the call the HTTP service makes; its columns (:data:`LOOKUP_COLUMNS`) are
        stable. Addresses never seen get a row of nulls with ``days_seen`` 0.

        Parameters
        ----------
        ips
            Addresses as text (normalised form, as in the origins table).

        Returns
        -------
        pandas.DataFrame
            One row per input address: ``ip``, ``first_seen``/``last_seen`` (UTC timestamps over
            all runs), ``days_seen`` (distinct UTC days with activity), ``runs``, and from the
            latest run that saw it: ``cluster``, ``score``, ``rank``, ``reasons``, ``asn``,
            ``as_org``, ``country``, ``net_type``, ``last_run``.
        """
        wanted = [str(ip) for ip in ips]
        found = self._query_ips(sorted(set(wanted)))
        out = pd.DataFrame({"ip": wanted}).merge(found, on="ip", how="left")
        out["days_seen"] = out["days_seen"].fillna(0).astype("int64")
        out["runs"] = out["runs"].fillna(0).astype("int64")
        return out[list(LOOKUP_COLUMNS)]

    def _query_ips(self, ips: Sequence[str] | None) -> pd.DataFrame:
        with self._read("query the store") as c:
            c.execute("BEGIN")  # one snapshot for all statements
            try:
                if ips is not None:
                    c.execute("CREATE TEMP TABLE IF NOT EXISTS _q (ip TEXT PRIMARY KEY)")
                    c.execute("DELETE FROM _q")
                    c.executemany("INSERT OR IGNORE INTO _q VALUES (?)", [(i,) for i in ips])
                    flt = "WHERE o.ip IN (SELECT ip FROM _q)"
                    dflt = "WHERE ip IN (SELECT ip FROM _q)"
                else:
                    flt = dflt = ""
                agg = pd.read_sql_query(
                    f"SELECT o.ip, min(o.first_seen) AS first_seen, max(o.last_seen) AS last_seen,"
                    f" count(*) AS runs FROM origins o {flt} GROUP BY o.ip", c)  # fmt: skip
                days = pd.read_sql_query(
                    f"SELECT ip, count(DISTINCT day) AS days_seen, min(day) AS first_day,"
                    f" max(day) AS last_day FROM sightings {dflt} GROUP BY ip", c)  # fmt: skip
                latest = pd.read_sql_query(
                    "SELECT o.ip, o.cluster, o.score, o.rank, o.reasons, o.asn, o.as_org,"
                    " o.country, o.net_type, o.run_id AS last_run FROM origins o"
                    " JOIN runs r ON r.run_id = o.run_id"
                    f" {flt} ORDER BY r.created, r.rowid", c)  # fmt: skip
            finally:
                c.execute("COMMIT")
        latest = latest.drop_duplicates("ip", keep="last")
        out = agg.merge(days, on="ip", how="outer").merge(latest, on="ip", how="left")
        for col in ("first_seen", "last_seen"):
            out[col] = pd.to_datetime(out[col], utc=True, format="ISO8601")
        out["days_seen"] = out["days_seen"].fillna(0).astype("int64")
        out["runs"] = out["runs"].fillna(0).astype("int64")
        out["asn"] = out["asn"].astype("Int64")
        out["rank"] = out["rank"].astype("Int64")
        out["score"] = out["score"].astype("Float64")
        for col in ("cluster", "reasons", "as_org", "country", "net_type", "last_run"):
            out[col] = out[col].astype("string")
        return out.drop(columns=["first_day", "last_day"])

    def history(self, ips: Iterable[str] | None = None) -> pd.DataFrame:
        """Per-origin history over all stored runs (feeds ``build_origins(history=...)``).

        Parameters
        ----------
        ips
            Restrict to these addresses; all origins when None.

        Returns
        -------
        pandas.DataFrame
            One row per known origin with :data:`LOOKUP_COLUMNS`.
        """
        sel = None if ips is None else sorted({str(i) for i in ips})
        return self._query_ips(sel)[list(LOOKUP_COLUMNS)].reset_index(drop=True)

    def sightings(self) -> pd.DataFrame:
        """All per-origin, per-day sightings: ``ip``, ``day``, ``run_id``, ``events``.

        Returns
        -------
        pandas.DataFrame
            The rows, ordered by day then address.
        """
        with self._read("query the store") as c:
            return pd.read_sql_query("SELECT * FROM sightings ORDER BY day, ip, run_id", c)

    def runs(self) -> pd.DataFrame:
        """The stored runs, oldest first.

        Returns
        -------
        pandas.DataFrame
            ``run_id``, ``created``, ``window_start``, ``window_end``, ``n_origins``,
            ``n_clusters``, ``meta`` (JSON text).
        """
        with self._read("query the store") as c:
            return pd.read_sql_query("SELECT * FROM runs ORDER BY created, rowid", c)

    def clusters(self) -> pd.DataFrame:
        """Every stored cluster row (one per cluster per run).

        Returns
        -------
        pandas.DataFrame
            ``cluster``, ``run_id``, ``size``, ``members`` (JSON list), ``first_seen``,
            ``last_seen``, ``score``, ``detail`` (JSON of the other columns).
        """
        with self._read("query the store") as c:
            return pd.read_sql_query("SELECT * FROM clusters ORDER BY run_id, cluster", c)

    def info(self) -> dict[str, Any]:
        """Summary of the store.

        Returns
        -------
        dict
            Path, size, layout version, counts of runs/origins/sightings/clusters, covered
            days and the latest run.
        """
        with self._read("query the store") as c:
            c.execute("BEGIN")
            try:
                n = {t: c.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                     for t in ("runs", "sightings", "clusters")}  # fmt: skip
                ips = c.execute("SELECT count(DISTINCT ip) FROM origins").fetchone()[0]
                lo, hi = c.execute("SELECT min(day), max(day) FROM sightings").fetchone()
                last = c.execute(
                    "SELECT run_id, created FROM runs ORDER BY created DESC, rowid DESC LIMIT 1"
                ).fetchone()
            finally:
                c.execute("COMMIT")
        size = sum(p.stat().st_size for p in self._files() if p.exists())
        return {
            "path": str(self.path), "bytes": size, "schema_version": SCHEMA_VERSION,
            "runs": n["runs"], "origins": ips, "sightings": n["sightings"],
            "clusters": n["clusters"], "first_day": lo, "last_day": hi,
            "last_run": last[0] if last else None, "last_run_at": last[1] if last else None,
        }  # fmt: skip

    def _files(self) -> list[Path]:
        return [self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")]

    def export(self, path: str | os.PathLike[str]) -> Path:
        """Export the store atomically; the format follows the extension.

        ``.db``/``.sqlite``: a consistent copy of the whole store (SQLite online backup).
        ``.parquet``/``.csv``/``.ndjson``: the per-origin history (:meth:`history`).

        Parameters
        ----------
        path
            Target file.

        Returns
        -------
        pathlib.Path
            The written file.
        """
        from attrib._atomic import atomic_path, write_table

        t = Path(path)
        if t.suffix.lower() in (".db", ".sqlite", ".sqlite3"):
            with atomic_path(t) as tmp, self._read("export the store"):
                dst = sqlite3.connect(tmp)
                try:
                    self._conn.backup(dst)
                finally:
                    dst.close()
            return t
        return write_table(self.history(), t)

    def prune(self, before: str | date | datetime) -> dict[str, int]:
        """Forget what was last seen before ``before`` (one transaction).

        Sightings on days before ``before`` are deleted, as are origin and cluster snapshots
        whose ``last_seen`` is before it, and runs left with nothing.

        Parameters
        ----------
        before
            A date (``YYYY-MM-DD``) or timestamp; UTC.

        Returns
        -------
        dict
            Rows deleted per table.
        """
        if self.read_only:
            raise StoreError(f"{self.path}: opened read-only")
        try:
            cut = pd.Timestamp(before)
        except (ValueError, TypeError):
            raise StoreError(f"prune: {before!r} is not a date") from None
        cut = cut.tz_localize("UTC") if cut.tzinfo is None else cut.tz_convert("UTC")
        day, iso = cut.strftime("%Y-%m-%d"), cut.isoformat()
        c = self._conn
        try:
            c.execute("BEGIN IMMEDIATE")
            out = {
                "sightings": c.execute("DELETE FROM sightings WHERE day < ?", (day,)).rowcount,
                "origins": c.execute("DELETE FROM origins WHERE last_seen < ?", (iso,)).rowcount,
                "clusters": c.execute("DELETE FROM clusters WHERE last_seen < ?", (iso,)).rowcount,
            }  # fmt: skip
            out["runs"] = c.execute(
                "DELETE FROM runs WHERE run_id NOT IN (SELECT run_id FROM origins)"
                " AND run_id NOT IN (SELECT run_id FROM sightings)"
                " AND run_id NOT IN (SELECT run_id FROM clusters)"
            ).rowcount
            c.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                c.execute("ROLLBACK")
            raise self._fail(exc, "prune the store") from None
        return out

    def check(self) -> None:
        """Run SQLite's integrity check; raise :class:`StoreError` if the file is damaged."""
        with self._read("check the store") as c:
            res = c.execute("PRAGMA integrity_check").fetchall()
        if res != [("ok",)]:
            lines = [ln for r in res for ln in str(r[0]).splitlines() if "***" not in ln]
            more = f" (+{len(lines) - 1} more problems)" if len(lines) > 1 else ""
            raise StoreError(f"{self.path}: store is damaged: {lines[0] if lines else res}{more}")
