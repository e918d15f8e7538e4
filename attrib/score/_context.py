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
    "ctx_cluster_routine_share": (
        "{value} of the other members of its cluster are routine origins of the organisation's "
        "accounts"
    ),
    "ctx_cluster_campaign_peers": (
        "its cluster holds {value} other origins that only fail on the organisation's accounts"
    ),
    "ctx_tool_routine_share": (
        "{value} of the other origins with its tooling (User-Agent + TLS) are routine origins "
        "of the organisation's accounts"
    ),
    "ctx_tool_campaign_peers": (
        "{value} other origins with its tooling (User-Agent + TLS) only fail on the "
        "organisation's accounts"
    ),
    "ctx_tool_peer_accounts": (
        "the other origins with its tooling that only fail try {value} of the organisation's "
        "accounts each"
    ),
    "ctx_tool_peer_days": (
        "the other origins with its tooling that only fail come back on {value} days each"
    ),
}
#: Per-origin breadth is clipped here before the tooling means (one noisy member must not
#: dominate its tooling's figure).
_PEER_CLIP = 10.0
CONTEXT_COLUMNS: tuple[str, ...] = tuple(CONTEXT_DESCRIPTIONS)
#: Origin features the scorer does not take as inputs (they stay in the origins table). Raw
#: counts of origins sharing a fingerprint scale with the tenant's size and its population's
#: User-Agent diversity, and the share of guessed (non-existent) account names depends on a
#: sprayer's name list: all properties of one simulated world rather than behaviour relative
#: to the tenant. Without them the model ranked all three scenarios of another generator
#: better, at the same own held-out AP (docs/scoring.md, "What 1.3.0 changed").
NOT_INPUTS = frozenset({
    "ua_peers", "ja4_peers", "tcp_fp_peers", "err_unknown_account_share",
    "ua_peers_unknown_share",
})  # fmt: skip


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


def _campaign_like(origins: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Per origin: routine for some account; tries accounts and only fails; has sign-ins.

    Uses the tenant features of :mod:`attrib.features.tenant`; all false without them.
    """
    idx = origins.index
    if "tenant_routine_accounts" not in origins.columns or "failure_ratio" not in origins:
        z = pd.Series(False, index=idx)
        return z, z, z
    routine = pd.to_numeric(origins["tenant_routine_accounts"], errors="coerce").fillna(0) > 0
    fr = pd.to_numeric(origins["failure_ratio"], errors="coerce")
    has = fr.notna()
    failing = has & (fr >= 0.8) & ~routine
    return routine & has, failing, has


def _loo_share(key: pd.Series, flag: pd.Series, has: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Leave-one-out share of flagged among members with sign-ins, and flagged peers."""
    k = key
    valid = k.notna()
    share = pd.Series(np.nan, index=key.index)
    peers = pd.Series(np.nan, index=key.index)
    if valid.any():
        kv = k[valid].to_numpy()
        f = flag[valid].astype(np.float64)
        h = has[valid].astype(np.float64)
        fs = f.groupby(kv, sort=False).transform("sum").to_numpy() - f.to_numpy()
        hs = h.groupby(kv, sort=False).transform("sum").to_numpy() - h.to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            share[valid] = np.where(hs > 0, fs / hs, np.nan)
        peers[valid] = fs
    return share, peers


def _tool_key(origins: pd.DataFrame) -> pd.Series:
    """The origin's tooling: top User-Agent and top TLS fingerprint (NA when both unknown).

    An integer code per distinct (User-Agent, TLS fingerprint) pair (factorised, not joined
    as text: a million origins cost two factorisations).
    """
    n = len(origins)
    codes = []
    for col in ("top_user_agent", "top_ja4"):
        if col in origins.columns:
            c, _ = pd.factorize(origins[col], use_na_sentinel=True)
        else:
            c = np.full(n, -1, dtype=np.int64)
        codes.append(np.asarray(c, dtype=np.int64))
    ua, ja = codes
    key = (ua + 1) * (int(ja.max(initial=-1)) + 2) + (ja + 1)
    return pd.Series(key, index=origins.index, dtype="Int64").where((ua >= 0) | (ja >= 0))


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
    routine, failing, has = _campaign_like(origins)
    for prefix, key in (
        ("ctx_cluster", origins["cluster"] if "cluster" in origins.columns else None),
        ("ctx_tool", _tool_key(origins)),
    ):
        if key is None or not has.any():
            out[f"{prefix}_routine_share"] = np.full(n, np.nan)
            out[f"{prefix}_campaign_peers"] = np.full(n, np.nan)
            continue
        share, _ = _loo_share(key, routine, has)
        _, peers = _loo_share(key, failing, has)
        out[f"{prefix}_routine_share"] = share.to_numpy()
        out[f"{prefix}_campaign_peers"] = peers.fillna(0.0).to_numpy()
    key = _tool_key(origins)
    for col, name in (
        ("n_accounts", "ctx_tool_peer_accounts"),
        ("active_days", "ctx_tool_peer_days"),
    ):
        out[name] = _loo_mean(key, origins, col, failing).to_numpy()
    return out


def _loo_mean(key: pd.Series, origins: pd.DataFrame, col: str, member: pd.Series) -> pd.Series:
    """Leave-one-out mean of ``col`` (clipped) over the *other* flagged members of a key.

    Campaign structure, not size: exits of one operation each try several accounts over
    several days (low and slow); commodity spraying makes one or two attempts per address.
    NaN when the key has no other flagged member or ``col`` is absent.
    """
    out = pd.Series(np.nan, index=origins.index)
    if col not in origins.columns:
        return out
    v = pd.to_numeric(origins[col], errors="coerce").clip(upper=_PEER_CLIP)
    m = member & key.notna() & v.notna()
    if not m.any():
        return out
    kv = key.where(key.notna(), -1).to_numpy(dtype=np.int64)
    vals = v.where(m, 0.0).to_numpy(dtype=np.float64)
    cnt = m.to_numpy(dtype=np.float64)
    s = pd.Series(vals).groupby(kv, sort=False).transform("sum").to_numpy() - vals
    c = pd.Series(cnt).groupby(kv, sort=False).transform("sum").to_numpy() - cnt
    with np.errstate(invalid="ignore", divide="ignore"):
        res = np.where((c > 0) & key.notna().to_numpy(), s / c, np.nan)
    return pd.Series(res, index=origins.index)
