"""Enrichment: ASN, network type, geolocation and tags for every address.

Offline by default from the bundled, redistributable data in ``data/`` (see
``docs/enrichment.md``); users' own MaxMind-format databases (GeoIP2/GeoLite2, DB-IP, IPinfo)
take precedence for the fields they carry. Lookups are vectorised: addresses are parsed once
per unique value and answered by ``numpy.searchsorted`` over compiled range indexes.

>>> import attrib
>>> attrib.enrich(["8.8.8.8"])  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import sys
import threading
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from attrib._paths import default_data_dir
from attrib.enrich._bundle import Bundle, load_bundle
from attrib.enrich._mmdb import MmdbTable, compile_mmdb, find_mmdb_files
from attrib.enrich.normalize import Parsed, Unhashable, _hashable, normalize_ips, parse_unique
from attrib.enrich.tags import SPECIAL_RANGES, special_index
from attrib.errors import DataError
from attrib.schema import ENRICH_COLUMNS, ENRICH_ECS_FIELDS, NET_TYPES

__all__ = ["Enricher", "default_enricher", "enrich", "normalize_ips", "sample_ips"]

log = logging.getLogger(__name__)

_STR = "string[pyarrow]"
_CONN_TYPES: dict[str, tuple[str, float]] = {
    "cable/dsl": ("residential", 0.85),
    "cellular": ("mobile", 0.9),
    "corporate": ("business", 0.7),
    "satellite": ("residential", 0.6),
    "dialup": ("residential", 0.6),
}
_ANON_TAGS = {
    "is_anonymous_vpn": "vpn",
    "is_tor_exit_node": "tor_exit",
    "is_public_proxy": "public_proxy",
    "is_residential_proxy": "residential_proxy",
    "is_hosting_provider": "datacenter",
}
_SPECIAL_TAGS = frozenset(t for _, t in SPECIAL_RANGES)
_NO_NET_TYPE_TAGS = (
    "private",
    "cgnat",
    "loopback",
    "link_local",
    "documentation",
    "multicast",
    "bogon",
)


def default_cache_dir() -> Path:
    """Cache folder for compiled user databases (``$XDG_CACHE_HOME/attrib``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "attrib"


def _obj(s: pd.Series) -> np.ndarray:
    """A Series as an object array with ``None`` for missing values."""
    return np.asarray(s.astype(object).where(s.notna(), None).to_numpy(), dtype=object)


class Enricher:
    """Looks up ASN, geolocation, network type and tags for addresses.

    Build one with :meth:`Enricher.load` (or :func:`default_enricher`); it is immutable and
    safe to share between threads.
    """

    def __init__(
        self, bundle: Bundle | None, user_dbs: list[MmdbTable], cache_dir: Path | None
    ) -> None:
        self.bundle = bundle
        self.user_dbs = user_dbs
        self.cache_dir = cache_dir
        parts = [bundle.version_id if bundle else "nobundle"]
        parts += [f"{t.kind}:{t.sha256[:8]}" for t in user_dbs]
        #: identifies the data in use (for run.json / API responses)
        self.version: str = "+".join(parts)
        # side tables as plain numpy arrays once (converting per lookup costs ~0.5 s)
        self._col: dict[str, np.ndarray] = {}
        if bundle is not None:
            info, locs = bundle.asn_info, bundle.locations
            self._asn_keys = info["asn"].to_numpy(dtype=np.int64)
            self._col = {
                "org": _obj(info["org"]),
                "net_type": _obj(info["net_type"].astype(str)),
                "conf": info["net_type_confidence"].to_numpy(dtype=np.float64),
                "evid": _obj(info["net_type_evidence"]),
                "vpn": info["in_vpn_list"].to_numpy(dtype=bool),
                "city": _obj(locs["city"]),
                "loc_cc": _obj(locs["country"]),
                "lat": locs["lat"].to_numpy(dtype=np.float64),
                "lon": locs["lon"].to_numpy(dtype=np.float64),
            }
        else:
            self._asn_keys = np.zeros(0, dtype=np.int64)
        self._rec: list[dict[str, np.ndarray]] = [
            {c: _obj(t.records[c]) for c in t.records.columns if t.records[c].notna().any()}
            for t in user_dbs
        ]

    @classmethod
    def load(
        cls,
        geoip_dir: str | os.PathLike[str] | None = None,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        bundled: bool = True,
    ) -> Enricher:
        """Load the bundled data and any user ``.mmdb`` files.

        Parameters
        ----------
        geoip_dir
            Folder (or single file) of ``.mmdb`` databases; ``None`` searches geoipupdate's
            standard folders (``/usr/share/GeoIP``, ``/usr/local/share/GeoIP``,
            ``/var/lib/GeoIP``).
        data_dir
            The bundle folder (default: the repository's ``data/``).
        cache_dir
            Where compiled ``.mmdb`` indexes are cached (default ``~/.cache/attrib``).
        bundled
            Use the bundled data (``False``: user databases only).

        Returns
        -------
        Enricher

        Raises
        ------
        attrib.errors.DataError
            Bundled data missing/corrupt, or a user database is corrupt or foreign.
        """
        bundle = (
            load_bundle(Path(data_dir) if data_dir else default_data_dir()) if bundled else None
        )
        cdir = Path(cache_dir) if cache_dir else default_cache_dir()
        dbs = [compile_mmdb(p, cdir) for p in find_mmdb_files(geoip_dir)]
        return cls(bundle, dbs, cdir)

    # -- lookups -------------------------------------------------------------------------
    def lookup(self, ips: Iterable[Any]) -> pd.DataFrame:
        """Enrich addresses.

        Parameters
        ----------
        ips
            Addresses in any textual form :func:`normalize_ips` accepts.

        Returns
        -------
        pandas.DataFrame
            Same length and order as ``ips`` (fresh RangeIndex): ``ip`` (normalised, ``<NA>``
            if invalid), ``ip_error`` and :data:`attrib.schema.ENRICH_COLUMNS`.
        """
        codes, uniques = _factorize(ips)
        p = parse_unique(np.asarray(uniques, dtype=object))
        u = self._lookup_unique(p)
        # row for missing input (code -1)
        null_row: dict[str, list[Any]] = {c: [None] for c in u.columns}
        null_row["ip_error"] = ["empty"]
        u = pd.concat([u, pd.DataFrame(null_row).astype(u.dtypes.to_dict())], ignore_index=True)
        idx = np.where(codes < 0, len(u) - 1, codes)
        return u.take(idx).reset_index(drop=True)

    def _lookup_unique(self, p: Parsed) -> pd.DataFrame:
        n = len(p.valid)
        valid = p.valid
        is4 = p.is_v4
        asn: np.ndarray = np.full(n, -1, dtype=np.int64)
        org = np.full(n, None, dtype=object)
        country = np.full(n, None, dtype=object)
        city = np.full(n, None, dtype=object)
        lat = np.full(n, np.nan)
        lon = np.full(n, np.nan)
        tags: dict[int, set[str]] = {}  # sparse: most addresses carry no tag
        nt: np.ndarray = np.full(n, "unknown", dtype=object)
        conf: np.ndarray = np.zeros(n)
        evid = np.full(n, None, dtype=object)
        b = self.bundle
        col = self._col
        if b is not None:
            ai = b.asn.lookup(is4, p.v4, p.v6)
            ai[~valid] = -1
            ok = ai >= 0
            asn[ok] = self._asn_keys[ai[ok]]
            org[ok] = col["org"][ai[ok]]
            ci = b.country.lookup(is4, p.v4, p.v6)
            ci[~valid] = -1
            ok = ci >= 0
            country[ok] = b.countries[ci[ok]]
            li = b.city.lookup(is4, p.v4, p.v6)
            li[~valid] = -1
            ok = li >= 0
            city[ok] = col["city"][li[ok]]
            lc = col["loc_cc"][li[ok]]
            country[ok] = np.where(pd.notna(lc), lc, country[ok])
            lat[ok] = col["lat"][li[ok]]
            lon[ok] = col["lon"][li[ok]]
            ti = b.tags.lookup(is4, p.v4, p.v6)
            ti[~valid] = -1
            for i in np.flatnonzero(ti >= 0).tolist():
                tags.setdefault(i, set()).update(str(b.tag_sets[ti[i]]).split(","))
        # user databases take precedence for the fields they carry (first file wins)
        conn = np.full(n, None, dtype=object)
        hosting_flag = np.zeros(n, dtype=bool)
        done: set[str] = set()
        for t, recs in zip(self.user_dbs, self._rec, strict=True):
            ri = t.index.lookup(is4, p.v4, p.v6)
            ri[~valid] = -1
            ok = ri >= 0
            if not ok.any():
                continue
            has = [c for c in recs if c not in done]
            sel = ri[ok]
            for c in has:
                vals = recs[c][sel]
                if c == "asn":
                    asn[ok] = np.array([-1 if v is None else int(v) for v in vals], dtype=np.int64)
                elif c == "as_org":
                    org[ok] = vals
                elif c == "country":
                    country[ok] = vals
                elif c == "city":
                    city[ok] = vals
                elif c == "lat":
                    lat[ok] = np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
                elif c == "lon":
                    lon[ok] = np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
                elif c == "connection_type":
                    conn[ok] = vals
                elif c in _ANON_TAGS:
                    for i, v in zip(np.flatnonzero(ok).tolist(), vals, strict=True):
                        if v:
                            tags.setdefault(i, set()).add(_ANON_TAGS[c])
                            if c == "is_hosting_provider":
                                hosting_flag[i] = True
            done.update(has)
        # network type: per ASN from the bundle, then per-address evidence
        if b is not None and len(self._asn_keys):
            k = np.searchsorted(self._asn_keys, asn)
            k = np.minimum(k, len(self._asn_keys) - 1)
            hit = (asn >= 0) & (self._asn_keys[k] == asn)
            nt[hit] = col["net_type"][k[hit]]
            conf[hit] = col["conf"][k[hit]]
            evid[hit] = col["evid"][k[hit]]
            vpn_asn = np.zeros(n, dtype=bool)
            vpn_asn[hit] = col["vpn"][k[hit]]
            for i in np.flatnonzero(vpn_asn).tolist():
                tags.setdefault(i, set()).add("vpn")
        sp_idx, sp_sets = special_index()
        si = sp_idx.lookup(is4, p.v4, p.v6)
        si[~valid] = -1
        for i in np.flatnonzero(si >= 0).tolist():
            tags.setdefault(i, set()).update(sp_sets[si[i]].split(","))
        nt[~valid] = "unknown"
        conf[~valid] = 0.0
        evid[~valid] = None
        todo = set(tags) | set(np.flatnonzero(pd.notna(conn) | hosting_flag).tolist())
        for i in sorted(int(x) for x in todo):
            if not valid[i]:
                continue
            tg = tags.get(i, set())
            special = [x for x in _NO_NET_TYPE_TAGS if x in tg]
            if special:
                # list snapshots sometimes carry special-use space; it is not routable
                tags[i] = {x for x in tg if x in _SPECIAL_TAGS}
                asn[i], org[i], country[i], city[i], lat[i], lon[i] = (
                    -1,
                    None,
                    None,
                    None,
                    np.nan,
                    np.nan,
                )
                nt[i], conf[i], evid[i] = "unknown", 0.0, f"special-use address ({special[0]})"
                continue
            if conn[i] is not None and str(conn[i]).lower() in _CONN_TYPES:
                ty, ty_conf = _CONN_TYPES[str(conn[i]).lower()]
                nt[i], conf[i] = ty, ty_conf
                evid[i] = f"user Connection-Type database says {conn[i]!r}"
            elif hosting_flag[i]:
                nt[i], conf[i] = "hosting", 0.9
                evid[i] = "user Anonymous-IP database: is_hosting_provider"
            elif nt[i] not in ("hosting", "cdn"):
                clouds = sorted(x.split(":", 1)[1] for x in tg if x.startswith("cloud:"))
                if clouds:
                    prev = f"; ASN says {nt[i]}" if nt[i] != "unknown" else ""
                    nt[i], conf[i] = "hosting", 0.9
                    evid[i] = f"address in published {clouds[0]} cloud ranges{prev}"
                elif "datacenter" in tg and (conf[i] < 0.7 or nt[i] in ("unknown", "business")):
                    prev = f"; ASN says {nt[i]}" if nt[i] != "unknown" else ""
                    nt[i], conf[i] = "hosting", 0.7
                    evid[i] = f"address in datacenter range list{prev}"
        evid[valid & (asn < 0) & pd.isna(evid)] = "address not in any ASN table"
        tag_text = np.full(n, None, dtype=object)
        for i, tg in tags.items():
            if tg:
                tag_text[i] = ",".join(sorted(tg))
        out = pd.DataFrame(
            {
                "ip": pd.Series(p.text, dtype=_STR),
                "ip_error": pd.Series(p.error, dtype=_STR),
                "asn": pd.array(np.where(asn >= 0, asn, 0), dtype="Int64"),
                "as_org": pd.Series(org, dtype=_STR),
                "country": pd.Series(country, dtype=_STR),
                "city": pd.Series(city, dtype=_STR),
                "lat": pd.array(lat, dtype="Float64"),
                "lon": pd.array(lon, dtype="Float64"),
                "net_type": pd.Categorical(nt, categories=list(NET_TYPES)),
                "net_type_confidence": pd.array(conf, dtype="Float64"),
                "net_type_evidence": pd.Series(evid, dtype=_STR),
                "tags": pd.Series(tag_text, dtype=_STR),
            }
        )
        out.loc[asn < 0, "asn"] = pd.NA
        for c in ("lat", "lon"):
            out.loc[np.isnan(lat if c == "lat" else lon), c] = pd.NA
        out.loc[~valid, "net_type_confidence"] = pd.NA
        return out[["ip", "ip_error", *ENRICH_COLUMNS]]

    def _sample_table(self, family: int) -> dict[str, np.ndarray]:
        """Per ASN segment with data: asn, net_type, country at its start, bounds (cached)."""
        cache: dict[int, dict[str, np.ndarray]] = self.__dict__.setdefault("_sample_cache", {})
        if family in cache:
            return cache[family]
        b = self.bundle
        if b is None:
            raise DataError("sample_ips needs the bundled data")
        starts = self._segment_starts(family)
        vals = b.asn.v4_values if family == 4 else b.asn.v6_values
        top = (1 << 32) if family == 4 else (1 << 128)
        seg = np.flatnonzero(vals >= 0)
        rows = vals[seg]
        n = len(seg)
        if family == 4:
            si = b.asn.v4_starts[seg]
            p = Parsed(
                np.empty(n, object), np.empty(n, object), np.ones(n, bool), np.ones(n, bool),
                si, np.zeros(n, dtype="S16"),
            )  # fmt: skip
        else:
            p = Parsed(
                np.empty(n, object), np.empty(n, object), np.ones(n, bool), np.zeros(n, bool),
                np.zeros(n, dtype=np.uint32), b.asn.v6_starts[seg],
            )  # fmt: skip
        ci = b.country.lookup(p.is_v4, p.v4, p.v6)
        lc = np.where(ci >= 0, b.countries[np.maximum(ci, 0)], np.array(None, dtype=object))
        li = b.city.lookup(p.is_v4, p.v4, p.v6)
        lc = np.where(li >= 0, self._col["loc_cc"][np.maximum(li, 0)], lc)
        lo = np.array([starts[i] for i in seg.tolist()], dtype=object)
        hi = np.array(
            [starts[i + 1] if i + 1 < len(starts) else top for i in seg.tolist()], dtype=object
        )
        cache[family] = {
            "asn": self._asn_keys[rows],
            "net_type": self._col["net_type"][rows],
            "country": lc.astype(object),
            "lo": lo,
            "hi": hi,
            "size": np.array([float(h - s0) for h, s0 in zip(hi, lo, strict=True)]),
        }
        return cache[family]

    def _segment_starts(self, family: int) -> list[int]:
        """Bundled ASN segment starts as Python ints (for sampling; cached)."""
        cache: dict[int, list[int]] = self.__dict__.setdefault("_starts_cache", {})
        if family not in cache:
            assert self.bundle is not None
            idx = self.bundle.asn
            if family == 4:
                cache[4] = idx.v4_starts.astype(np.int64).tolist()
            else:
                hi_lo = np.ascontiguousarray(idx.v6_starts).view(">u8").reshape(-1, 2)
                cache[6] = [(int(h) << 64) | int(lo) for h, lo in hi_lo.tolist()]
        return cache[family]

    # -- description ---------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """What is loaded, from where, how old, under which licence.

        Returns
        -------
        dict
            ``version``, ``bundle`` (path, build date, age in days, upstream versions,
            snapshot dates, licences, files) and ``user_databases``.
        """
        out: dict[str, Any] = {"version": self.version, "cache_dir": str(self.cache_dir)}
        b = self.bundle
        if b is not None:
            built = b.version.get("built")
            age = None
            if built:
                t = dt.datetime.strptime(built, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
                age = round((dt.datetime.now(dt.UTC) - t).total_seconds() / 86400, 1)
            out["bundle"] = {
                "path": str(b.path),
                "built": built,
                "age_days": age,
                "upstreams": b.version.get("upstreams", {}),
                "snapshots": b.version.get("snapshots", {}),
                "licences": b.version.get("licences", {}),
                "net_type_model": b.version.get("net_type_model"),
                "net_types_derived": b.version.get("net_types_derived"),
                "attribution": "IP Geolocation by DB-IP (https://db-ip.com)",
                "files": b.version.get("files", {}),
            }
        else:
            out["bundle"] = None
        out["user_databases"] = [t.info() for t in self.user_dbs]
        return out


def _factorize(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 for missing) and unique values; arrow's hash encoding for text."""
    if isinstance(values, pd.Series):
        seq: Any = values.array if isinstance(values.dtype, pd.StringDtype) else values.tolist()
    elif isinstance(values, (list, np.ndarray)):
        seq = values
    else:
        seq = list(values)
    try:
        arr = pa.array(seq, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        objs = [v if _hashable(v) else Unhashable(v) for v in seq]
        c, u = pd.factorize(pd.Series(objs, dtype=object), use_na_sentinel=True)
        return np.asarray(c), np.asarray(u, dtype=object)
    enc = pc.dictionary_encode(arr)
    codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, np.asarray(enc.dictionary.to_pylist(), dtype=object)


_DEFAULT: dict[str, Enricher] = {}
_LOCK = threading.Lock()


def default_enricher(geoip_dir: str | os.PathLike[str] | None = None) -> Enricher:
    """A process-wide :class:`Enricher`, cached per ``geoip_dir``.

    Parameters
    ----------
    geoip_dir
        Folder of user ``.mmdb`` files (``None``: geoipupdate's standard folders).

    Returns
    -------
    Enricher
    """
    key = str(geoip_dir)
    with _LOCK:
        e = _DEFAULT.get(key)
        if e is None:
            e = _DEFAULT[key] = Enricher.load(geoip_dir)
        return e


_IP_COLUMNS = ("src_ip", "ip", "source.ip", "client_ip", "ipAddress", "ip_address")


def enrich(
    ips_or_frame: Iterable[Any] | pd.DataFrame,
    *,
    column: str | None = None,
    geoip_dir: str | os.PathLike[str] | None = None,
    ecs: bool = True,
) -> pd.DataFrame:
    """Enrich addresses (a list/Series, or a column of a DataFrame).

    Parameters
    ----------
    ips_or_frame
        Addresses, or a frame holding them in ``column``.
    column
        The address column of a frame (default: the first of ``src_ip``, ``ip``,
        ``source.ip``, ``client_ip``, ``ipAddress``, ``ip_address`` present).
    geoip_dir
        Folder of the user's ``.mmdb`` files (see :meth:`Enricher.load`).
    ecs
        Name columns by Elastic ECS (``source.as.number``, ``source.geo.city_name``, ...,
        ``attrib.net_type``); ``False`` keeps attrib's canonical names.

    Returns
    -------
    pandas.DataFrame
        For a list: ``ip`` (``source.ip``), ``ip_error`` and the enrichment columns. For a
        frame: its columns followed by the enrichment columns.

    Raises
    ------
    attrib.errors.DataError
        Bundled/user data missing or corrupt, or ``column`` absent.
    """
    e = default_enricher(geoip_dir)
    if isinstance(ips_or_frame, pd.DataFrame):
        df = ips_or_frame
        col = column or next((c for c in _IP_COLUMNS if c in df.columns), None)
        if col is None or col not in df.columns:
            raise DataError(
                f"enrich: no address column (give column=; have {list(df.columns)[:10]})"
            )
        res = e.lookup(df[col]).drop(columns=["ip"])
        res.index = df.index
        if ecs:
            res = res.rename(
                columns={c: ENRICH_ECS_FIELDS.get(c, f"attrib.{c}") for c in res.columns}
            )
        return pd.concat([df, res], axis=1)
    res = e.lookup(ips_or_frame)
    if ecs:
        res = res.rename(columns={c: ENRICH_ECS_FIELDS.get(c, f"attrib.{c}") for c in res.columns})
    return res


def sample_ips(
    n: int,
    *,
    rng: np.random.Generator,
    country: str | None = None,
    net_type: str | None = None,
    asn: int | Iterable[int] | None = None,
    family: int = 4,
    enricher: Enricher | None = None,
) -> pd.DataFrame:
    """Draw real public addresses of real networks from the bundled data.

    Networks are chosen with probability proportional to the square root of their size
    (so populations mix big and small networks) and an address uniformly inside; each
    returned row is verified by a full lookup to match every filter and to carry no
    special-use tag.

    Parameters
    ----------
    n
        How many distinct addresses.
    rng
        Random generator (reproducible draws).
    country
        ISO 3166-1 alpha-2 code to require.
    net_type
        One of :data:`attrib.schema.NET_TYPES` to require.
    asn
        An AS number, or several, to draw from.
    family
        4 or 6.
    enricher
        The enricher to use (default :func:`default_enricher` without user databases'
        influence on the draw itself).

    Returns
    -------
    pandas.DataFrame
        ``ip`` + :data:`attrib.schema.ENRICH_COLUMNS`, up to ``n`` rows (fewer only when the
        data holds fewer matching addresses).

    Raises
    ------
    attrib.errors.DataError
        No network in the data matches the filters, or bad arguments.
    """
    if family not in (4, 6):
        raise DataError(f"sample_ips: family must be 4 or 6, not {family!r}")
    if net_type is not None and net_type not in NET_TYPES:
        raise DataError(
            f"sample_ips: unknown net_type {net_type!r} (one of {', '.join(NET_TYPES)})"
        )
    e = enricher or default_enricher()
    b = e.bundle
    if b is None:
        raise DataError("sample_ips needs the bundled data")
    t = e._sample_table(family)
    sel = np.ones(len(t["asn"]), dtype=bool)
    if asn is not None:
        wanted = [int(asn)] if isinstance(asn, (int, np.integer)) else [int(a) for a in asn]
        sel &= np.isin(t["asn"], wanted)
    if net_type is not None:
        sel &= t["net_type"] == net_type
    if country is not None:
        sel &= t["country"] == str(country).upper()
    pick = np.flatnonzero(sel)
    if len(pick) == 0:
        raise DataError(
            f"sample_ips: no network matches country={country!r} net_type={net_type!r} asn={asn!r}"
        )
    lo = t["lo"][pick]
    hi = t["hi"][pick]
    size = t["size"][pick]
    w = np.sqrt(np.minimum(size, 2.0**32))
    w /= w.sum()
    got: dict[str, None] = {}
    frames = []
    for _ in range(20):
        need = n - len(got)
        if need <= 0:
            break
        k = rng.choice(len(pick), size=max(2 * need, 16), p=w)
        cand = []
        for j in k:
            span = int(hi[j] - lo[j])
            off = int(rng.integers(0, min(span, 1 << 62))) if span > 1 else 0
            if span > (1 << 62):
                off = (off << 64 | int(rng.integers(0, 1 << 62))) % span
            a = int(lo[j]) + off
            cand.append(str(ipaddress.IPv4Address(a) if family == 4 else ipaddress.IPv6Address(a)))
        res = e.lookup(cand)
        ok = res["ip"].notna() & res["tags"].fillna("").map(
            lambda t: not any(x in t.split(",") for x in _NO_NET_TYPE_TAGS)
        ).astype(bool)
        if country is not None:
            ok &= res["country"].fillna("") == str(country).upper()
        if net_type is not None:
            ok &= res["net_type"].astype(str) == net_type
        res = res[ok & ~res["ip"].isin(list(got))].drop_duplicates("ip")
        res = res.head(need)
        got.update(dict.fromkeys(res["ip"].tolist()))
        frames.append(res)
    out = pd.concat(frames, ignore_index=True) if frames else e.lookup([]).iloc[:0]
    return out.drop(columns=["ip_error"]).reset_index(drop=True)


class _CallableModule(types.ModuleType):
    """Lets ``attrib.enrich(...)`` work after ``attrib.enrich`` the package was imported.

    Importing the subpackage binds ``attrib.enrich`` to this module, shadowing the public
    function of the same name; calling the module forwards to :func:`enrich`.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        return enrich(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
