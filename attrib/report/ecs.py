"""Scored origins as Elastic Common Schema (ECS) documents, one JSON object per line.

Field names come from :data:`attrib.schema.ECS_ORIGIN_FIELDS` (via :func:`attrib.schema.to_ecs`);
columns without an ECS name go under ``attrib.*``. Dotted names are nested into objects, as
Elasticsearch, Logstash and most SIEM shippers expect.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from attrib._atomic import atomic_path
from attrib.report.values import plain
from attrib.schema import ECS_ORIGIN_FIELDS, to_ecs

__all__ = ["ECS_VERSION", "ecs_documents", "write_ecs"]

#: ECS version the documents follow.
ECS_VERSION = "8.11.0"


#: the field names of a document shape -> their nesting (leaf: the dotted name), or None
_TREES: dict[tuple[str, ...], dict[str, Any] | None] = {}


def _tree(names: tuple[str, ...]) -> dict[str, Any] | None:
    """The nesting of dotted names; None when a name is both a leaf and a parent."""
    tree: dict[str, Any] = {}
    for name in names:
        node = tree
        *parents, leaf = name.split(".")
        for p in parents:
            nxt = node.setdefault(p, {})
            if not isinstance(nxt, dict):
                return None
            node = nxt
        if leaf in node:
            return None
        node[leaf] = name
    return tree


def _build(tree: dict[str, Any], flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, sub in tree.items():
        if type(sub) is str:
            v = flat[sub]
            if v is not None:
                out[key] = v
        else:
            d = _build(sub, flat)
            if d:
                out[key] = d
    return out


def _nest(flat: dict[Any, Any]) -> dict[str, Any]:
    """Dotted names nested into objects; ``None`` values left out (empty objects too)."""
    names = tuple(flat)
    if names not in _TREES:
        if len(_TREES) > 256:
            _TREES.clear()
        _TREES[names] = _tree(names)
    tree = _TREES[names]
    return _build(tree, flat) if tree is not None else _nest_slow(flat)


def _nest_slow(flat: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None:
            continue
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            nxt = node.setdefault(p, {})
            if not isinstance(nxt, dict):  # a scalar already sits there: keep both
                nxt = node[p] = {"value": nxt}
            node = nxt
        node[parts[-1]] = value
    return out


def _plain_column(s: pd.Series) -> list[Any]:
    """A column as :func:`attrib.report.values.plain` values, converted column-wise."""
    dt = s.dtype
    if isinstance(dt, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dt):
        t = s if isinstance(dt, pd.DatetimeTZDtype) else s.dt.tz_localize("UTC")
        text = t.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
        return list(text.astype(object).where(s.notna(), None))
    if pd.api.types.is_float_dtype(dt):
        a = s.to_numpy(dtype=float, na_value=np.nan)
        out = a.tolist()
        for i in np.flatnonzero(~np.isfinite(a)):
            out[i] = None
        return out
    if pd.api.types.is_bool_dtype(dt) or pd.api.types.is_integer_dtype(dt):
        return list(s.astype(object).where(s.notna(), None))
    if isinstance(dt, pd.StringDtype):
        return list(s.astype(object).where(s.notna(), None))
    return [plain(v) for v in s]


def ecs_documents(origins: pd.DataFrame, run_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield one nested ECS document per origin.

    Parameters
    ----------
    origins
        The scored origins table.
    run_id
        Recorded as ``attrib.run_id`` when given.

    Yields
    ------
    dict
        ``@timestamp`` (the origin's ``last_seen``), ``event.*`` (kind ``enrichment``,
        category ``threat``, dataset ``attrib.origins``, risk score 0–100), ``source.*``
        (address, AS, geo) and ``attrib.*`` (score, rank, cluster, reasons, features).
    """
    cols = [c for c in origins.columns if c != "reasons_json"]
    ecs = to_ecs(origins[cols], ECS_ORIGIN_FIELDS)
    geo = ("source.geo.location.lat", "source.geo.location.lon")
    names = list(ecs.columns)
    for values in zip(*(_plain_column(ecs.iloc[:, i]) for i in range(len(names))), strict=True):
        flat = dict(zip(names, values, strict=True))
        flat["@timestamp"] = flat.get("attrib.last_seen") or flat.get("attrib.first_seen")
        flat["ecs.version"] = ECS_VERSION
        flat["event.kind"] = "enrichment"
        flat["event.category"] = ["threat"]
        flat["event.type"] = ["indicator"]
        flat["event.dataset"] = "attrib.origins"
        flat["event.module"] = "attrib"
        score = flat.get("attrib.score")
        if score is not None:
            flat["event.risk_score"] = round(100 * float(score), 1)
            flat["event.risk_score_norm"] = round(100 * float(score), 1)
        if flat.get(geo[0]) is None or flat.get(geo[1]) is None:
            flat.pop(geo[0], None)
            flat.pop(geo[1], None)
        if run_id:
            flat["attrib.run_id"] = run_id
        if "attrib.tags" in flat:
            tags = [t for t in str(flat["attrib.tags"] or "").split(",") if t]
            flat["attrib.tags"] = tags or None
        yield _nest(flat)


def write_ecs(
    origins: pd.DataFrame, path: str | os.PathLike[str], run_id: str | None = None
) -> Path:
    """Write :func:`ecs_documents` as NDJSON, atomically.

    Parameters
    ----------
    origins
        The scored origins table.
    path
        Target file (``origins.ndjson``).
    run_id
        Recorded in every document.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    t = Path(path)
    with atomic_path(t) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for doc in ecs_documents(origins, run_id):
            fh.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
    return t
