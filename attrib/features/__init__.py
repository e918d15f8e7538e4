"""Per-origin features: lifetime and hand-offs, targeting, place, fingerprints, latency.

The feature stage turns the (enriched) events table into the *origins* table: one row per
origin IP with enrichment columns, ``first_seen``/``last_seen``, the numeric
:data:`FEATURE_COLUMNS` (NaN where an input is missing) and descriptive columns. Definitions
and the reason each feature matters are in ``docs/features.md``.

>>> from attrib.features import build_origins
>>> origins = build_origins(events, context=ctx, enricher=enricher)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from attrib.context import OrgContext
from attrib.features.accumulator import OriginAccumulator
from attrib.features.columns import (
    DESCRIPTIVE_COLUMNS,
    FEATURE_COLUMNS,
    FEATURE_DESCRIPTIONS,
    FEATURE_GROUPS,
)

__all__ = [
    "DESCRIPTIVE_COLUMNS",
    "FEATURE_COLUMNS",
    "FEATURE_DESCRIPTIONS",
    "FEATURE_GROUPS",
    "OriginAccumulator",
    "build_origin_days",
    "build_origins",
]


def build_origins(
    events: pd.DataFrame | Iterable[pd.DataFrame],
    enrichment: pd.DataFrame | None = None,
    context: OrgContext | None = None,
    *,
    enricher: Any = None,
    history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Aggregate events into the origins table.

    Parameters
    ----------
    events
        The canonical events table, or an iterable of chunks (aggregated in bounded memory).
    enrichment
        ``ip`` plus :data:`attrib.schema.ENRICH_COLUMNS` for the origins (e.g. from
        ``Enricher.lookup``); rows for other addresses are ignored.
    context
        The organisation; default ``OrgContext()`` (UTC, 8-18, no home countries).
    enricher
        Used to look origins up when ``enrichment`` is None. With neither, enrichment columns
        and the features built on them are null/NaN.
    history
        Earlier sightings from the store (``ip``, ``first_seen``, ``last_seen``,
        ``days_seen``); extends first/last seen and fills ``seen_before``/``prior_days_seen``.

    Returns
    -------
    pandas.DataFrame
        One row per origin: ``ip``, enrichment columns, ``first_seen``, ``last_seen``,
        :data:`FEATURE_COLUMNS` (float), then descriptive columns (``top_user_agent``,
        ``top_ja4``, ``top_tcp_fp``, ``tcp_os``, ``ua_os``, ``accounts``, ``target_set``).

    Examples
    --------
    >>> origins = build_origins(attrib.read("logs/"), context=ctx)  # doctest: +SKIP
    """
    acc = OriginAccumulator(context)
    chunks = [events] if isinstance(events, pd.DataFrame) else events
    for chunk in chunks:
        acc.update(chunk)
    return acc.result(enrichment, enricher=enricher, history=history)


def build_origin_days(
    events: pd.DataFrame | Iterable[pd.DataFrame], context: OrgContext | None = None
) -> pd.DataFrame:
    """Per origin-day activity: events, sign-ins, failures and accounts touched.

    Parameters
    ----------
    events
        The events table or chunks of it.
    context
        The organisation (which addresses are origins).

    Returns
    -------
    pandas.DataFrame
        ``ip``, ``day`` (UTC date), ``n_events``, ``n_signins``, ``n_failures``, ``n_accounts``.
    """
    acc = OriginAccumulator(context)
    chunks = [events] if isinstance(events, pd.DataFrame) else events
    for chunk in chunks:
        acc.update(chunk)
    p = acc.partials()
    day = p.tables["day"]
    acct = p.tables["acct"].groupby(["ip", "day"]).size().rename("n_accounts")
    d = day.set_index(["ip", "day"]).join(acct).reset_index()
    out = pd.DataFrame({
        "ip": p.ip.decode(d["ip"].to_numpy()).to_numpy(),
        "day": pd.to_datetime(d["day"].to_numpy(dtype=np.int64) * 86_400, unit="s").date,
        "n_events": d["n"].to_numpy(dtype=np.int64),
        "n_signins": d["n_signin"].to_numpy(dtype=np.int64),
        "n_failures": d["n_failure"].to_numpy(dtype=np.int64),
        "n_accounts": d["n_accounts"].fillna(0).to_numpy(dtype=np.int64),
    })  # fmt: skip
    out["ip"] = out["ip"].astype("string[pyarrow]")
    return out.sort_values(["ip", "day"], kind="stable").reset_index(drop=True)
