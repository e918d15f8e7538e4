"""The sightings store's SQL layout and how tables become its rows (and back)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from attrib.schema import cluster_members, plain_value

__all__ = ["SCHEMA_SQL", "cluster_rows", "day_rows", "iso", "origin_rows", "plain"]

SCHEMA_SQL = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    window_start TEXT,
    window_end TEXT,
    n_origins INTEGER NOT NULL,
    n_clusters INTEGER NOT NULL,
    meta TEXT NOT NULL
);
CREATE TABLE sightings (
    ip TEXT NOT NULL,
    day TEXT NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    events INTEGER,
    PRIMARY KEY (ip, day, run_id)
) WITHOUT ROWID;
CREATE INDEX sightings_day ON sightings(day);
CREATE TABLE origins (
    ip TEXT NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    first_seen TEXT,
    last_seen TEXT,
    score REAL,
    rank INTEGER,
    cluster TEXT,
    reasons TEXT,
    asn INTEGER,
    as_org TEXT,
    country TEXT,
    net_type TEXT,
    enrichment TEXT,
    features TEXT,
    PRIMARY KEY (ip, run_id)
) WITHOUT ROWID;
CREATE INDEX origins_last_seen ON origins(last_seen);
CREATE TABLE clusters (
    cluster TEXT NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    size INTEGER,
    members TEXT,
    first_seen TEXT,
    last_seen TEXT,
    score REAL,
    detail TEXT,
    PRIMARY KEY (cluster, run_id)
) WITHOUT ROWID;
"""

_ORIGIN_FIXED = ("ip", "first_seen", "last_seen", "score", "rank", "cluster", "reasons",
                 "asn", "as_org", "country", "net_type")  # fmt: skip
_ENRICH_EXTRA = ("city", "lat", "lon", "net_type_confidence", "net_type_evidence", "tags")


def iso(v: Any) -> str | None:
    """A timestamp as ISO-8601 UTC text, or None."""
    if v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
        return None
    if v is pd.NA:
        return None
    ts = pd.Timestamp(v)
    if ts is pd.NaT:
        return None
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return str(ts.isoformat())


def plain(v: Any) -> Any:
    """A scalar as a JSON/SQLite-friendly Python value (NA -> None)."""
    return plain_value(v, iso)


def _col(df: pd.DataFrame, name: str) -> list[Any]:
    if name not in df.columns:
        return [None] * len(df)
    return [plain(v) for v in df[name].tolist()]


def day_rows(
    origins: pd.DataFrame, days: pd.DataFrame | None, run_id: str
) -> list[tuple[Any, ...]]:
    if days is not None and len(days):
        d = pd.to_datetime(days["day"], utc=True).dt.strftime("%Y-%m-%d")
        ev = days["events"] if "events" in days.columns else pd.Series(None, index=days.index)
        trip = zip(days["ip"], d, ev, strict=True)
        return [(str(ip), day, run_id, plain(n)) for ip, day, n in trip if ip is not pd.NA]
    rows: dict[tuple[str, str], None] = {}
    for col in ("first_seen", "last_seen"):
        if col not in origins.columns:
            continue
        ts = pd.to_datetime(origins[col], utc=True).dt.strftime("%Y-%m-%d")
        for ip, day in zip(origins["ip"], ts, strict=True):
            if isinstance(day, str) and ip is not pd.NA:
                rows[(str(ip), day)] = None
    return [(ip, day, run_id, None) for ip, day in rows]


def origin_rows(origins: pd.DataFrame, run_id: str) -> list[tuple[Any, ...]]:
    fixed = {c: _col(origins, c) for c in _ORIGIN_FIXED}
    for c in ("first_seen", "last_seen"):
        fixed[c] = [iso(v) for v in fixed[c]]
    extra_enrich = [c for c in _ENRICH_EXTRA if c in origins.columns]
    skip = set(_ORIGIN_FIXED) | set(extra_enrich) | {"reasons_json"}
    feats = [c for c in origins.columns if c not in skip]
    enr = [_col(origins, c) for c in extra_enrich]
    fea = [_col(origins, c) for c in feats]
    rows = []
    for i in range(len(origins)):
        e = json.dumps({c: enr[j][i] for j, c in enumerate(extra_enrich)}, default=str)
        f = json.dumps({c: fea[j][i] for j, c in enumerate(feats)}, default=str)
        rows.append((fixed["ip"][i], run_id, fixed["first_seen"][i], fixed["last_seen"][i],
                     fixed["score"][i], fixed["rank"][i], fixed["cluster"][i],
                     fixed["reasons"][i], fixed["asn"][i], fixed["as_org"][i],
                     fixed["country"][i], fixed["net_type"][i], e, f))  # fmt: skip
    return [r for r in rows if r[0] is not None]


def cluster_rows(clusters: pd.DataFrame, run_id: str) -> list[tuple[Any, ...]]:
    if clusters.empty or "cluster" not in clusters.columns:
        return []
    known = {"cluster", "size", "members", "first_seen", "last_seen", "score"}
    rest = [c for c in clusters.columns if c not in known]
    rows = []
    for rec in clusters.to_dict("records"):
        detail = json.dumps({c: plain(rec.get(c)) for c in rest}, default=str)
        members = cluster_members(plain(rec.get("members")))
        size = plain(rec.get("size"))
        rows.append((str(rec["cluster"]), run_id, size if size is not None else len(members),
                     json.dumps(members), iso(rec.get("first_seen")),
                     iso(rec.get("last_seen")), plain(rec.get("score")), detail))  # fmt: skip
    return rows
