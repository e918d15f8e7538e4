"""What the service holds in memory: settings, enrichment, store, model, caches, metrics."""

from __future__ import annotations

import gc
import logging
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd

from attrib._version import __version__
from attrib.api.keys import KeyRecord, KeyStore
from attrib.api.metrics import Metrics
from attrib.api.ratelimit import RateLimiter
from attrib.api.settings import ServiceSettings

__all__ = ["ServiceState", "ecs_doc", "nest_ecs"]

logger = logging.getLogger(__name__)


def _plain(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.generic):
        return _plain(v.item())
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v


def nest_ecs(flat: dict[str, Any]) -> dict[str, Any]:
    """Turn dotted ECS keys into nested objects; tags become a list.

    Parameters
    ----------
    flat
        ``{"source.as.number": 64500, ...}``.

    Returns
    -------
    dict
        ``{"source": {"as": {"number": 64500}}, ...}``.
    """
    out: dict[str, Any] = {}
    for key, value in flat.items():
        v = _plain(value)
        if key == "attrib.tags":
            v = [t for t in str(v).split(",") if t] if v else []
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = v
    return out


def _column_values(col: pd.Series) -> list[Any]:
    """A column as plain Python values with ``None`` for nulls (vectorised, not per cell)."""
    mask = col.isna().to_numpy()
    if pd.api.types.is_integer_dtype(col.dtype) or pd.api.types.is_float_dtype(col.dtype):
        vals = col.astype(object).to_numpy().tolist()
        return [None if m else (v.item() if isinstance(v, np.generic) else v)
                for v, m in zip(vals, mask, strict=True)]  # fmt: skip
    vals = col.astype(object).to_numpy().tolist()
    return [None if m else _plain(v) for v, m in zip(vals, mask, strict=True)]


class _LRU:
    """A bounded least-recently-used map of address text -> serialised answer."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._d: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, k: str) -> bytes | None:
        with self._lock:
            v = self._d.get(k)
            if v is not None:
                self._d.move_to_end(k)
            return v

    def put(self, k: str, v: bytes) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._d[k] = v
            self._d.move_to_end(k)
            while len(self._d) > self.size:
                self._d.popitem(last=False)

    def __len__(self) -> int:
        return len(self._d)


def ecs_doc(rec: dict[str, Any]) -> dict[str, Any]:
    """One answer of the API from a flat enrichment record (canonical column names).

    Parameters
    ----------
    rec
        A record as :func:`attrib.enrich.single.lookup_one` returns it (valid address).

    Returns
    -------
    dict
        ``{"ip": ..., "source": {...}, "attrib": {...}}``, exactly as the batch path nests it.
    """
    tags = rec["tags"]
    return {
        "ip": rec["ip"],
        "source": {
            "ip": rec["ip"],
            "as": {"number": rec["asn"], "organization": {"name": rec["as_org"]}},
            "geo": {
                "country_iso_code": rec["country"],
                "city_name": rec["city"],
                "location": {"lat": rec["lat"], "lon": rec["lon"]},
            },
        },
        "attrib": {
            "net_type": rec["net_type"],
            "net_type_confidence": rec["net_type_confidence"],
            "net_type_evidence": rec["net_type_evidence"],
            "tags": [t for t in tags.split(",") if t] if tags else [],
        },
    }


class ServiceState:
    """Everything the routes share; built once per worker at startup.

    Parameters
    ----------
    settings
        The service settings.
    """

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.limiter = RateLimiter(settings.rate_limit_rps, settings.rate_limit_burst)
        self.keys = KeyStore(settings.keys_db)
        self._key_cache: dict[str, KeyRecord | None] = {}
        self._key_mtime: float | None = None
        self._cache = _LRU(settings.lookup_cache_size)
        self.enricher: Any = None
        self.data_version = "not loaded"
        self.model_version = "not loaded"
        self.model: Any = None
        self.ready = False
        self._store: Any = None
        self._store_lock = threading.Lock()

    # -- loading -------------------------------------------------------------------------
    def load(self) -> None:
        """Load enrichment data (and the model when present); mark ready."""
        from attrib.enrich import default_enricher

        enricher = self.enricher = default_enricher(self.settings.geoip_dir)
        self.data_version = str(getattr(enricher, "version", "unknown"))
        from attrib.errors import ModelError
        from attrib.score import load_model

        try:
            self.model = load_model(self.settings.model)
            self.model_version = str(getattr(self.model, "version_", "unknown"))
        except ModelError as exc:
            if self.settings.model is not None:  # asked for explicitly: refuse to start
                raise
            logger.warning("no scoring model (%s): /v1/score answers 503", exc)
            self.model_version = "unavailable"
        self.metrics.info = {
            "version": __version__, "data": self.data_version, "model": self.model_version,
        }  # fmt: skip
        # The reference data is millions of long-lived objects: move them out of the cyclic
        # collector's sight so a gen-2 collection never pauses requests for ~100 ms.
        gc.collect()
        gc.freeze()
        self.ready = True

    # -- auth ----------------------------------------------------------------------------
    def verify_key(self, key: str) -> KeyRecord | None:
        """Verify a presented key, cached until the key database changes.

        Parameters
        ----------
        key
            The presented key.

        Returns
        -------
        KeyRecord or None
            The record, or ``None`` for an unknown key.
        """
        try:
            mtime: float | None = os.stat(self.keys.path).st_mtime_ns
        except OSError:
            mtime = None
        if mtime != self._key_mtime:
            self._key_cache.clear()
            self._key_mtime = mtime
        if key in self._key_cache:
            return self._key_cache[key]
        rec = self.keys.verify(key)
        if len(self._key_cache) > 10_000:
            self._key_cache.clear()
        self._key_cache[key] = rec
        return rec

    # -- lookups -------------------------------------------------------------------------
    _STORE_FIELDS = ("first_seen", "last_seen", "days_seen", "runs", "cluster", "score", "rank",
                     "reasons", "last_run")  # fmt: skip

    def _store_rows(self, ips: Sequence[str]) -> dict[str, dict[str, Any]]:
        if self.settings.store is None or not ips:
            return {}
        with self._store_lock:
            if self._store is None:
                from attrib.store import SightingsStore

                self._store = SightingsStore(self.settings.store, read_only=True)
            df = self._store.lookup(list(ips))
        df = df[df["runs"] > 0]
        rows: dict[str, dict[str, Any]] = {}
        for rec in df.to_dict("records"):
            rows[str(rec["ip"])] = {f"attrib.{k}": _plain(rec.get(k)) for k in self._STORE_FIELDS}
        return rows

    def _enrich(self, ips: Sequence[str]) -> list[dict[str, Any]]:
        from attrib.enrich import enrich

        flat = enrich(list(ips), geoip_dir=self.settings.geoip_dir, ecs=True)
        cols = {c: _column_values(flat[c]) for c in flat.columns}
        errors = (
            cols.pop("attrib.ip_error", None) or cols.pop("ip_error", None) or [None] * len(flat)
        )
        paths = [(c.split("."), c == "attrib.tags") for c in cols]
        values = list(cols.values())
        out: list[dict[str, Any]] = []
        for i, given in enumerate(ips):
            ip = cols["source.ip"][i]
            if ip is None:
                out.append({"ip": given, "error": errors[i] or "invalid address"})
                continue
            doc: dict[str, Any] = {"ip": ip}
            for (parts, is_tags), vals in zip(paths, values, strict=True):
                v = vals[i]
                if is_tags:
                    v = [t for t in v.split(",") if t] if v else []
                node = doc
                for part in parts[:-1]:
                    node = node.setdefault(part, {})
                node[parts[-1]] = v
            out.append(doc)
        return out

    def _with_store(self, answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
        valid = [a["ip"] for a in answers if "error" not in a]
        known = self._store_rows(valid)
        if not known:
            return answers
        out = []
        for a in answers:
            extra = known.get(a["ip"]) if "error" not in a else None
            if extra:
                a = {**a, "attrib": {**a.get("attrib", {}), **nest_ecs(extra)["attrib"]}}
            out.append(a)
        return out

    def lookup(self, ips: Sequence[str]) -> list[dict[str, Any]]:
        """Enrich addresses (vectorised) and add what the store knows; ECS-shaped dicts.

        Invalid addresses get ``{"ip": <input>, "error": <reason>}``.

        Parameters
        ----------
        ips
            Addresses as given by the client.

        Returns
        -------
        list of dict
            One answer per input, in order.
        """
        if not ips:
            return []
        answers = self._enrich(ips)
        if self._cache.size > 0:  # warm the single-address cache like a SIEM's working set
            dumps = orjson.dumps
            for given, ans in zip(ips, answers, strict=True):
                if "error" not in ans:
                    self._cache.put(given, dumps(ans))
        return self._with_store(answers)

    def _answer_bytes(self, ip: str) -> tuple[int, bytes]:
        """Status and serialised enrichment of one address, through the LRU cache."""
        data = self._cache.get(ip)
        if data is not None:
            self.metrics.cache_hits += 1
            return 200, data
        self.metrics.cache_misses += 1
        from attrib.enrich.single import lookup_one

        rec = lookup_one(self.enricher, ip)
        if rec["ip"] is None:
            err = rec["ip_error"] or "invalid address"
            return 422, orjson.dumps({"error": f"invalid address: {err}", "ip": ip})
        data = orjson.dumps(ecs_doc(rec))
        self._cache.put(ip, data)
        return 200, data

    def lookup_one_bytes(self, ip: str) -> tuple[int, bytes]:
        """``GET /v1/ip/{ip}``'s answer: status and JSON body (the store consulted each time).

        Parameters
        ----------
        ip
            The address as given.

        Returns
        -------
        tuple
            ``(200, body)``, or ``(422, error body)`` for an invalid address.
        """
        status, data = self._answer_bytes(ip)
        if status != 200 or self.settings.store is None:
            return status, data
        return 200, orjson.dumps(self._with_store([orjson.loads(data)])[0])

    def lookup_one(self, ip: str) -> dict[str, Any]:
        """One address, enrichment through an LRU cache, store always consulted.

        Parameters
        ----------
        ip
            The address as given.

        Returns
        -------
        dict
            The answer, or ``{"ip": <input>, "error": <reason>}``.
        """
        status, data = self._answer_bytes(ip)
        if status != 200:
            return {
                "ip": ip,
                "error": orjson.loads(data)["error"].removeprefix("invalid address: "),
            }
        return self._with_store([orjson.loads(data)])[0]
