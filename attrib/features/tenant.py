"""Tenant-relative features: whether an origin is part of the organisation's own habits.

Identity-protection products key on each account's own history: which networks, places and
devices it usually signs in from. Here that history is the analysis window itself. For every
origin and every account it touched:

* the origin is a *routine* origin of the account when the account signed in successfully
  from it on at least :data:`ROUTINE_DAYS` distinct days;
* its ASN or country is *new* for the account when no *other* origin gave that account a
  successful sign-in from the same ASN (country) — leave-one-out, so an origin never
  vouches for itself; accounts with no other successful origin have no history and are left
  out of the share;
* its User-Agent is a *new device* for the account when no other origin gave the account a
  successful sign-in with that User-Agent.

Shared NAT (carrier CGNAT, a campus, a coworking space) is the origin of many of the
organisation's own accounts, day after day, mostly successfully, from their usual devices: it is
routine for many accounts and new for none, whatever its network type says. An exit of a
covert network is routine for no account, and its ASN, place and device are new for most of the
accounts it tries. Counts are also expressed relative to the tenant's own distribution
(``tenant_failure_excess``: failure ratio above the tenant's routine origins' median), so a
tenant's size and habits do not move the model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attrib.features.partials import Partials

__all__ = ["ROUTINE_DAYS", "SHARED_NAT_ACCOUNTS", "tenant_features"]

#: Distinct days with a successful sign-in that make an origin routine for an account.
ROUTINE_DAYS = 2
#: Routine accounts from which a mostly-routine origin reads as shared NAT.
SHARED_NAT_ACCOUNTS = 3

_COLUMNS = (
    "tenant_routine_accounts",
    "tenant_routine_share",
    "tenant_success_days",
    "tenant_success_accounts",
    "tenant_success_share",
    "tenant_new_asn_share",
    "tenant_new_country_share",
    "tenant_new_device_share",
    "tenant_failure_excess",
    "tenant_shared_nat",
)


def _empty(index: pd.Index) -> pd.DataFrame:
    return pd.DataFrame({c: np.full(len(index), np.nan) for c in _COLUMNS}, index=index)


def _pairs(acct: pd.DataFrame) -> pd.DataFrame:
    """Per (origin, account): attempts, successes and distinct success days."""
    a = acct.assign(sday=(acct["n_success"] > 0).astype(np.int64))
    g = a.groupby(["ip", "user"], sort=False).agg(
        n_signin=("n_signin", "sum"), n_success=("n_success", "sum"), sdays=("sday", "sum")
    )
    return g.reset_index()


def _new_share(pairs: pd.DataFrame, attr: pd.Series) -> pd.Series:
    """Per origin: share of its accounts (with history elsewhere) for which ``attr`` is new.

    ``attr`` maps origin code -> value (ASN, country, city); pairs without a value are
    skipped.
    """
    v = pairs["ip"].map(attr)
    d = pairs.assign(v=v.to_numpy()).dropna(subset=["v"])
    ok = d["n_success"] > 0
    # successful origins per (account, value) and per account
    per_val = d[ok].groupby(["user", "v"]).size()
    per_user = d[ok].groupby("user").size()
    key = pd.MultiIndex.from_arrays([d["user"], d["v"]])
    same = per_val.reindex(key).fillna(0).to_numpy() - ok.to_numpy()
    others = d["user"].map(per_user).fillna(0).to_numpy() - ok.to_numpy()
    has_history = others > 0
    new = pd.Series(np.where(same > 0, 0.0, 1.0), index=d.index)
    return new[has_history].groupby(d.loc[has_history, "ip"]).mean()


def _new_device_share(acct_ua: pd.DataFrame) -> pd.Series:
    """Per origin: share of its accounts for which none of its User-Agents is a known device."""
    if not len(acct_ua):
        return pd.Series(dtype=float)
    ok = acct_ua["n_success"] > 0
    s = acct_ua[ok]
    per_ua = s.groupby(["user", "ua"]).size()
    per_user = s.drop_duplicates(["ip", "user"]).groupby("user").size()
    key = pd.MultiIndex.from_arrays([acct_ua["user"], acct_ua["ua"]])
    known_elsewhere = per_ua.reindex(key).fillna(0).to_numpy() - ok.to_numpy() > 0
    d = acct_ua.assign(known=known_elsewhere, own=ok.to_numpy())
    pair = d.groupby(["ip", "user"], sort=False).agg(known=("known", "any"), own=("own", "any"))
    pair = pair.reset_index()
    others = pair["user"].map(per_user).fillna(0).to_numpy() - pair["own"].to_numpy()
    pair = pair[others > 0]
    return (~pair["known"]).astype(float).groupby(pair["ip"]).mean()


def tenant_features(
    p: Partials, index: pd.Index, enr: pd.DataFrame, failure_ratio: pd.Series
) -> pd.DataFrame:
    """Tenant-relative features per origin code.

    Parameters
    ----------
    p
        Merged partials (``acct`` and ``acct_ua`` tables).
    index
        Origin codes.
    enr
        Enrichment per origin code (``asn``, ``country``, ``city``).
    failure_ratio
        The origin's sign-in failure ratio (per origin code).

    Returns
    -------
    pandas.DataFrame
        The ``tenant_*`` columns, NaN without identity data; origins without sign-ins get
        zero routine accounts and NaN shares.
    """
    if not p.has_identity:
        return _empty(index)
    acct = p.tables["acct"]
    pairs = _pairs(acct[acct["n_signin"] > 0])
    out = pd.DataFrame(index=index)
    routine = pairs["sdays"] >= ROUTINE_DAYS
    n_routine = routine.groupby(pairs["ip"]).sum().reindex(index).fillna(0.0)
    n_pairs = pairs.groupby("ip").size().reindex(index)
    out["tenant_routine_accounts"] = n_routine.astype(float)
    out["tenant_routine_share"] = (n_routine / n_pairs).astype(float)
    out["tenant_success_days"] = pairs.groupby("ip")["sdays"].mean().reindex(index)
    n_ok = (pairs["n_success"] > 0).groupby(pairs["ip"]).sum().reindex(index).fillna(0.0)
    out["tenant_success_accounts"] = n_ok.astype(float)
    out["tenant_success_share"] = (n_ok / n_pairs).astype(float)
    # (cities are not used: geolocation puts one ISP's neighbouring lines in many cities)
    for col in ("asn", "country"):
        attr = enr[col].astype(object).where(enr[col].notna(), None)
        out[f"tenant_new_{col}_share"] = _new_share(pairs, attr.dropna()).reindex(index)
    out["tenant_new_device_share"] = _new_device_share(p.tables["acct_ua"]).reindex(index)
    fr = failure_ratio.reindex(index).to_numpy(dtype=float)
    routine_fr = fr[(n_routine.to_numpy() > 0) & ~np.isnan(fr)]
    base = float(np.median(routine_fr)) if len(routine_fr) else 0.0
    out["tenant_failure_excess"] = fr - base
    shared = (n_routine >= SHARED_NAT_ACCOUNTS) & (out["tenant_routine_share"] >= 0.5)
    out["tenant_shared_nat"] = shared.astype(float)
    return out[list(_COLUMNS)].astype(float)
