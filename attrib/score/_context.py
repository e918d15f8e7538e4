"""Cluster-context features for the scorer.

An origin in a cluster of short-lived residential exits that share one TLS fingerprint is
more suspicious than the same origin alone. These columns put that context beside the
per-origin features. They are computed over the table being scored (vectorised group-bys),
from the core origin columns (``cluster``, ``net_type``, ``first_seen``, ``last_seen``); a
column that is absent makes the dependent context feature missing (NaN), never invented.
(Fingerprint sharing — ``ja4_peers_ephemeral`` and friends — is computed by
:mod:`attrib.features`.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__: list[str] = []  # private module

#: Hours below which an origin counts as short-lived.
SHORT_LIVED_HOURS = 72.0
#: Network types that count as residential (incl. mobile carriers).
RESIDENTIAL = ("residential", "mobile")
#: Context feature -> analyst phrase template (``{value}`` is the feature value).
CONTEXT_DESCRIPTIONS: dict[str, str] = {
    "ctx_cluster_size": "member of an infrastructure cluster of {value} origins",
    "ctx_cluster_short_res_peers": (
        "its cluster holds {value} other short-lived residential origins"
    ),
    "ctx_cluster_short_res_share": "{value} of its cluster are short-lived residential origins",
}
CONTEXT_COLUMNS: tuple[str, ...] = tuple(CONTEXT_DESCRIPTIONS)


def short_lived_residential(origins: pd.DataFrame) -> pd.Series:
    """Boolean per origin: residential/mobile network and seen for under 72 hours.

    Unknown (missing ``net_type`` or times) counts as false.
    """
    n = len(origins)
    if "net_type" not in origins.columns:
        return pd.Series(np.zeros(n, dtype=bool), index=origins.index)
    res = origins["net_type"].astype("string").isin(RESIDENTIAL).fillna(False)
    if "first_seen" in origins.columns and "last_seen" in origins.columns:
        first = pd.to_datetime(origins["first_seen"], utc=True)
        last = pd.to_datetime(origins["last_seen"], utc=True)
        hours = (last - first).dt.total_seconds() / 3600.0
        short = (hours < SHORT_LIVED_HOURS).fillna(False)
    else:
        short = pd.Series(False, index=origins.index)
    return (res & short).astype(bool)


def _group_context(key: pd.Series, flag: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Group size and count of flagged members per key, aligned to rows (NaN for no key)."""
    k = key.astype("string")
    valid = k.notna()
    size = pd.Series(np.nan, index=key.index)
    peers = pd.Series(np.nan, index=key.index)
    if valid.any():
        kv = k[valid]
        grp = flag[valid].astype(np.int64).groupby(kv.to_numpy(), sort=False)
        size[valid] = grp.transform("size").to_numpy(dtype=np.float64)
        peers[valid] = grp.transform("sum").to_numpy(dtype=np.float64)
    return size, peers


def add_context(origins: pd.DataFrame) -> pd.DataFrame:
    """Return ``origins`` with the :data:`CONTEXT_COLUMNS` added (a new frame).

    Parameters
    ----------
    origins
        Origins table; uses ``cluster``, ``net_type``, ``first_seen`` and ``last_seen``.

    Returns
    -------
    pandas.DataFrame
        A copy with the context columns (float).
    """
    return origins.assign(**{str(c): s for c, s in context_frame(origins).items()})


def context_frame(origins: pd.DataFrame) -> pd.DataFrame:
    """Only the :data:`CONTEXT_COLUMNS` of ``origins`` (same index), without copying it.

    Parameters
    ----------
    origins
        Origins table.

    Returns
    -------
    pandas.DataFrame
        The context columns (float).
    """
    out = pd.DataFrame(index=origins.index)
    flag = short_lived_residential(origins)
    own = flag.astype(np.float64)
    n = len(origins)
    if "cluster" in origins.columns:
        size, peers = _group_context(origins["cluster"], flag)
        alone = size.isna()
        # an origin outside any cluster is its own cluster of one
        out["ctx_cluster_size"] = size.fillna(1.0).to_numpy()
        peers_other = (peers - own).where(~alone, 0.0)
        out["ctx_cluster_short_res_peers"] = peers_other.to_numpy()
        out["ctx_cluster_short_res_share"] = (peers / size).where(~alone, own).to_numpy()
    else:
        for c in ("ctx_cluster_size", "ctx_cluster_short_res_peers", "ctx_cluster_short_res_share"):
            out[c] = np.full(n, np.nan)
    return out
