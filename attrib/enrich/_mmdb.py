"""Users' MaxMind-format (``.mmdb``) databases, compiled into attrib's range index.

Supported shapes, identified by the metadata ``database_type`` and the record fields:

* MaxMind GeoIP2/GeoLite2 ``City``/``Country``/``Enterprise`` and DB-IP City/Country (nested
  ``country.iso_code``, ``city.names.en``, ``location.latitude``/``longitude``);
* ``ASN`` (``autonomous_system_number``/``autonomous_system_organization``) and ``ISP``;
* ``Anonymous-IP`` (``is_anonymous_vpn``, ``is_hosting_provider``, ``is_public_proxy``,
  ``is_residential_proxy``, ``is_tor_exit_node``);
* ``Connection-Type`` (``connection_type``);
* IPinfo (``asn`` as ``"AS123"``, ``as_name``, ``country_code``/``country``, ``city``, ``lat``/
  ``lng``) and the flat ip-location-db/DB-IP lite layout (``country_code``, ``city``,
  ``latitude``/``longitude``).

A database is walked once (``for network, record in reader``) and the result cached on disk,
keyed by the file's sha256, so later runs load plain numpy arrays.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import maxminddb
import numpy as np
import pandas as pd

from attrib.enrich._finder import STANDARD_DIRS, find_mmdb_files  # noqa: F401  (their old home)
from attrib.enrich._index import RangeIndex, segments_v4, segments_v6
from attrib.errors import DataError

__all__: list[str] = []

log = logging.getLogger(__name__)

CACHE_FORMAT = 2
MASK64 = (1 << 64) - 1

#: record columns a compiled database may carry
FIELDS: tuple[str, ...] = (
    "asn", "as_org", "country", "city", "lat", "lon", "connection_type",
    "is_anonymous", "is_anonymous_vpn", "is_hosting_provider", "is_public_proxy",
    "is_residential_proxy", "is_tor_exit_node", "isp",
)  # fmt: skip
GROUPS: dict[str, tuple[str, ...]] = {
    "asn": ("asn", "as_org"),
    "geo": ("country", "city", "lat", "lon"),
    "anon": (
        "is_anonymous",
        "is_anonymous_vpn",
        "is_hosting_provider",
        "is_public_proxy",
        "is_residential_proxy",
        "is_tor_exit_node",
    ),  # fmt: skip
    "conn": ("connection_type",),
}


def _get(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def _name(d: Any) -> str | None:
    names = _get(d, "names")
    if isinstance(names, dict):
        v = names.get("en")
        return str(v) if v is not None else None
    return None


def _asn(v: Any) -> int | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int):
        return v
    s = str(v).strip().upper()
    if s.startswith("AS"):
        s = s[2:]
    return int(s) if s.isdigit() else None


def _float(v: Any) -> float | None:
    if v is None or v == "":
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def extract(rec: Any) -> tuple[Any, ...]:
    """Map one mmdb record of any supported shape to a tuple aligned with :data:`FIELDS`."""
    if not isinstance(rec, dict):
        return (None,) * len(FIELDS)
    country = _get(rec, "country", "iso_code")
    if country is None:
        c = rec.get("country_code", rec.get("country"))
        country = c if isinstance(c, str) else None
    city = rec.get("city")
    city_name = _name(city) if isinstance(city, dict) else (city or None)
    loc = rec.get("location")
    if isinstance(loc, dict):
        lat, lon = _float(loc.get("latitude")), _float(loc.get("longitude"))
    else:
        lat = _float(rec.get("latitude", rec.get("lat")))
        lon = _float(rec.get("longitude", rec.get("lng", rec.get("lon"))))
    asn = _asn(rec.get("autonomous_system_number", rec.get("asn")))
    org = rec.get("autonomous_system_organization", rec.get("as_name"))
    flags = []
    for f in GROUPS["anon"]:
        v = rec.get(f)
        flags.append(bool(v) if v is not None else None)
    ct = rec.get("connection_type")
    return (
        asn,
        str(org) if org is not None else None,
        str(country) if country else None,
        str(city_name) if city_name else None,
        lat,
        lon,
        str(ct) if ct else None,
        *flags,
        str(rec["isp"]) if rec.get("isp") else None,
    )


def kind_of(database_type: str) -> str:
    """Human kind of a database from its metadata type."""
    t = database_type.lower()
    for key, kind in (
        ("anonymous", "anonymous-ip"), ("connection", "connection-type"), ("isp", "isp"),
        ("asn", "asn"), ("city", "city"), ("country", "country"), ("enterprise", "city"),
        ("ipinfo", "ipinfo"), ("location", "city"),
    ):  # fmt: skip
        if key in t:
            return kind
    return "unknown"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class MmdbTable:
    """A compiled user database."""

    path: Path
    database_type: str
    kind: str
    build_epoch: int
    sha256: str
    index: RangeIndex
    records: pd.DataFrame  # one row per distinct extracted record, columns FIELDS
    groups: tuple[str, ...] = field(default_factory=tuple)

    def info(self) -> dict[str, Any]:
        """Describe the database."""
        return {
            "path": str(self.path),
            "database_type": self.database_type,
            "kind": self.kind,
            "build_epoch": self.build_epoch,
            "sha256": self.sha256,
            "groups": list(self.groups),
            "records": len(self.records),
        }


def _open(path: Path) -> Any:
    try:
        return maxminddb.open_database(str(path), maxminddb.MODE_MMAP)
    except Exception as exc:  # the reader raises many types on foreign files
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: not a readable MaxMind DB (.mmdb) file: {msg}") from None


def _walk(reader: Any, path: Path) -> Iterator[tuple[Any, Any]]:
    try:
        yield from reader
    except Exception as exc:  # corrupt trees/data surface as many types
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: corrupt MaxMind DB search tree or data section: {msg}") from None


def compile_mmdb(path: Path, cache_dir: Path | None = None) -> MmdbTable:
    """Compile (or load from cache) one ``.mmdb`` file.

    Parameters
    ----------
    path
        The database.
    cache_dir
        Where compiled indexes are kept (``None``: no caching).

    Returns
    -------
    MmdbTable

    Raises
    ------
    attrib.errors.DataError
        The file is not a MaxMind DB, is corrupt, or carries no field attrib understands.
    """
    path = Path(path)
    digest = sha256_file(path)
    cache = cache_dir / f"mmdb-{digest[:32]}-v{CACHE_FORMAT}" if cache_dir else None
    if cache is not None and (cache / "meta.json").exists():
        try:
            return _load_cache(cache, path, digest)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring unreadable cache %s: %s", cache, exc)
    reader = _open(path)
    try:
        meta = reader.metadata()
        dbtype = str(meta.database_type)
        v4s: list[int] = []
        v4e: list[int] = []
        v4v: list[int] = []
        v6s: list[int] = []
        v6e: list[int] = []
        v6v: list[int] = []
        recs: dict[tuple[Any, ...], int] = {}
        for net, rec in _walk(reader, path):
            key = extract(rec)
            val = recs.setdefault(key, len(recs))
            if net.version == 6 and meta.ip_version == 6 and net.prefixlen >= 96:
                a = int(net.network_address)
                if a >> 32 == 0:  # ::/96 holds IPv4 in IPv6 databases
                    net = ipaddress.IPv4Network((a, net.prefixlen - 96))
            if net.version == 4:
                v4s.append(int(net.network_address))
                v4e.append(int(net.broadcast_address))
                v4v.append(val)
            else:
                v6s.append(int(net.network_address))
                v6e.append(int(net.broadcast_address))
                v6v.append(val)
        build_epoch = int(meta.build_epoch)
    finally:
        reader.close()
    records = pd.DataFrame(list(recs), columns=list(FIELDS))
    groups = tuple(
        g for g, cols in GROUPS.items() if len(records) and records[list(cols)].notna().any().any()
    )
    if not groups:
        raise DataError(f"{path}: a MaxMind DB of type {dbtype!r} without any field attrib uses")
    s4, val4 = segments_v4(
        np.array(v4s, dtype=np.int64), np.array(v4e, dtype=np.int64), np.array(v4v)
    )
    s6, val6 = segments_v6(
        np.array([x >> 64 for x in v6s], dtype=np.uint64),
        np.array([x & MASK64 for x in v6s], dtype=np.uint64),
        np.array([x >> 64 for x in v6e], dtype=np.uint64),
        np.array([x & MASK64 for x in v6e], dtype=np.uint64),
        np.array(v6v, dtype=np.int64),
    )
    table = MmdbTable(
        path, dbtype, kind_of(dbtype), build_epoch, digest, RangeIndex(s4, val4, s6, val6),
        _typed(records), groups,
    )  # fmt: skip
    if cache is not None:
        try:
            _save_cache(cache, table)
        except OSError as exc:
            log.warning("cannot cache compiled %s in %s: %s", path, cache, exc)
    log.info("compiled %s (%s): %d records", path, dbtype, len(records))
    return table


def _typed(records: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=records.index)
    for c in FIELDS:
        s = records[c]
        if c == "asn":
            out[c] = s.astype("Int64")
        elif c in ("lat", "lon"):
            out[c] = s.astype("Float64")
        elif c.startswith("is_"):
            out[c] = s.astype("boolean")
        else:
            out[c] = s.astype("string[pyarrow]")
    return out


def _save_cache(cache: Path, t: MmdbTable) -> None:
    tmp = cache.with_name(cache.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    np.savez(
        tmp / "index.npz",
        v4_starts=t.index.v4_starts, v4_values=t.index.v4_values,
        v6_starts=t.index.v6_starts, v6_values=t.index.v6_values,
    )  # fmt: skip
    t.records.to_parquet(tmp / "records.parquet", index=False)
    meta = {
        "database_type": t.database_type, "build_epoch": t.build_epoch,
        "sha256": t.sha256, "groups": list(t.groups),
    }  # fmt: skip
    (tmp / "meta.json").write_text(json.dumps(meta))
    try:
        os.replace(tmp, cache)
    except OSError:
        # another process won the race; keep theirs
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def _load_cache(cache: Path, path: Path, digest: str) -> MmdbTable:
    meta = json.loads((cache / "meta.json").read_text())
    if meta["sha256"] != digest:
        raise ValueError("checksum mismatch")
    with np.load(cache / "index.npz", allow_pickle=False) as z:
        idx = RangeIndex(
            z["v4_starts"].astype(np.uint32), z["v4_values"].astype(np.int32),
            z["v6_starts"].astype("S16"), z["v6_values"].astype(np.int32),
        )  # fmt: skip
    records = _typed(pd.read_parquet(cache / "records.parquet"))
    dbtype = str(meta["database_type"])
    return MmdbTable(
        path, dbtype, kind_of(dbtype), int(meta["build_epoch"]), digest, idx, records,
        tuple(meta["groups"]),
    )  # fmt: skip
