"""The :class:`Enricher`: ASN, network type, geolocation and tags for many addresses at once.

Addresses are parsed once per unique value and answered by ``numpy.searchsorted`` over the
compiled range indexes of the bundled data and the user's ``.mmdb`` files; the precedence and
network-type rules are those of :mod:`attrib.enrich.rules`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
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
from attrib.enrich.normalize import Parsed, Unhashable, _hashable, parse_unique
from attrib.enrich.rules import (
    ANON_TAGS,
    address_verdict,
    routable_tags,
    user_value,
)
from attrib.enrich.tags import special_index
from attrib.errors import DataError
from attrib.schema import ENRICH_COLUMNS, NET_TYPES

__all__ = ["Enricher", "default_cache_dir", "default_enricher"]

log = logging.getLogger(__name__)

_STR = "string[pyarrow]"


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
        fields = {"asn": asn, "as_org": org, "country": country, "city": city, "lat": lat,
                  "lon": lon, "connection_type": conn}  # fmt: skip
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
                if c in fields:
                    fields[c][ok] = [user_value(c, v) for v in vals]
                elif c in ANON_TAGS:
                    for i, v in zip(np.flatnonzero(ok).tolist(), vals, strict=True):
                        if v:
                            tags.setdefault(i, set()).add(ANON_TAGS[c])
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
            v = address_verdict(tg, conn[i], bool(hosting_flag[i]), nt[i], conf[i])
            if v is None:
                continue
            if v.special:
                tags[i] = routable_tags(tg)
                asn[i], org[i], country[i], city[i], lat[i], lon[i] = (
                    -1,
                    None,
                    None,
                    None,
                    np.nan,
                    np.nan,
                )
            nt[i], conf[i], evid[i] = v.net_type, v.confidence, v.evidence
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
