"""Assemble the origins table from merged partials (all feature groups, in contract order)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from attrib.context import OrgContext
from attrib.features.columns import DESCRIPTIVE_COLUMNS, FEATURE_COLUMNS
from attrib.features.fingerprints import fingerprint_features, top_traits
from attrib.features.latency import latency_features, reference_point
from attrib.features.partials import Partials
from attrib.features.place import place_features
from attrib.features.targeting import targeting_features
from attrib.features.time import handoff_features, time_features
from attrib.schema import ENRICH_COLUMNS

__all__ = ["assemble", "origin_frame_columns"]

logger = logging.getLogger(__name__)


def origin_frame_columns() -> list[str]:
    """Column order of the origins table produced by the feature stage.

    Returns
    -------
    list of str
        ``ip``, enrichment columns, ``first_seen``/``last_seen``, features, descriptive columns.
    """
    desc = [c for c in DESCRIPTIVE_COLUMNS if c not in ("first_seen", "last_seen")]
    cols = ["ip", *ENRICH_COLUMNS, "first_seen", "last_seen", *FEATURE_COLUMNS, *desc]
    return list(dict.fromkeys(cols))  # net_type_confidence is both enrichment and feature


def _enrichment(ips: pd.Series, enrichment: pd.DataFrame | None, enricher: Any) -> pd.DataFrame:
    if enrichment is None and enricher is not None:
        enrichment = enricher.lookup(ips)
        enrichment = enrichment.assign(ip=ips.to_numpy())
    if enrichment is None:
        enrichment = pd.DataFrame({"ip": pd.Series([], dtype="string[pyarrow]")})
    e = enrichment.copy()
    e["ip"] = e["ip"].astype("string")
    e = e.dropna(subset=["ip"]).drop_duplicates("ip").set_index("ip")
    e = e.reindex(pd.Index(ips.to_numpy(dtype=object)))
    out = pd.DataFrame(index=range(len(ips)))
    for col, dtype in ENRICH_COLUMNS.items():
        s = e[col] if col in e.columns else pd.Series(pd.NA, index=e.index)
        out[col] = pd.Series(s.to_numpy(), dtype=object).astype(dtype)  # type: ignore[call-overload]
    return out


def assemble(
    p: Partials,
    ctx: OrgContext,
    enrichment: pd.DataFrame | None,
    enricher: Any,
    history: pd.DataFrame | None,
) -> pd.DataFrame:
    """Compute every feature group and return the origins table.

    Parameters
    ----------
    p
        Merged partials.
    ctx
        The organisation.
    enrichment, enricher, history
        As for :func:`attrib.features.build_origins`.

    Returns
    -------
    pandas.DataFrame
        One row per origin, sorted by ``first_seen`` then ``ip``.
    """
    codes = p.tables["ip"]["ip"].to_numpy(dtype=np.int64)
    index = pd.Index(codes)
    ips = p.ip.decode(codes)
    enr = _enrichment(ips, enrichment, enricher)
    enr.index = index
    t = time_features(p, ctx, index, history)
    g = targeting_features(p, ctx, index)
    pl = place_features(p, ctx, index, enr, ips)
    tops = top_traits(p, index)
    fp = fingerprint_features(tops, t["lifetime_days"].to_numpy(), enr["net_type"], p)
    hand = handoff_features(
        pd.concat([t[["first_seen", "last_seen"]], tops, g[["target_set"]]], axis=1)
    )
    lat, lon = (
        enr[c].astype("Float64").to_numpy(dtype=float, na_value=np.nan) for c in ("lat", "lon")
    )
    ref = reference_point(lat, lon, pl["is_office"].to_numpy(), pl["same_country"].to_numpy())
    lt = latency_features(p, index, lat, lon, ref)
    full = pd.concat([enr, t, g, pl, tops, fp, hand, lt], axis=1)
    full = full.loc[:, ~full.columns.duplicated()]
    full.insert(0, "ip", ips.to_numpy())
    full["ip"] = full["ip"].astype("string[pyarrow]")
    for c in FEATURE_COLUMNS:
        full[c] = pd.to_numeric(full[c], errors="coerce").astype(float)
    full = full[origin_frame_columns()]
    full = full.sort_values(["first_seen", "ip"], kind="stable").reset_index(drop=True)
    logger.debug("built %d origins", len(full))
    return full
