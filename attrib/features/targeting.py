"""Targeting features: accounts, hosts and services touched, failures and what followed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attrib.context import OrgContext
from attrib.features.partials import ERROR_CODE_GROUPS, Partials

__all__ = ["targeting_features"]

#: Cap on the accounts listed in the descriptive ``accounts`` column.
ACCOUNTS_LISTED = 100


def targeting_features(p: Partials, ctx: OrgContext, index: pd.Index) -> pd.DataFrame:
    """Targeting features per origin code.

    Parameters
    ----------
    p
        Merged partials.
    ctx
        The organisation (``accounts``: directory size, if known).
    index
        Origin codes.

    Returns
    -------
    pandas.DataFrame
        Feature columns plus the descriptive ``accounts`` and ``target_set`` columns.
    """
    ipt = p.tables["ip"].set_index("ip").reindex(index)
    out = pd.DataFrame(index=index)
    out["n_events"] = ipt["n"].to_numpy(dtype=float)
    acct = p.tables["acct"]
    idn = np.nan if not p.has_identity else 0.0
    cnn = np.nan if not p.has_conn else 0.0
    out["n_accounts"] = _nunique(acct, "user", index, idn)
    out["n_hosts"] = _sketched(_nunique(p.tables["host"], "host", index, cnn), p, "host", index)
    out["n_services"] = _sketched(_nunique(p.tables["svc"], "svc", index, 0.0), p, "svc", index)
    sig = acct[acct["n_signin"] > 0]
    out["attempts_per_account_day"] = sig.groupby("ip")["n_signin"].mean().reindex(index)
    per_day = acct.groupby(["ip", "day"]).size().groupby(level="ip").max()
    out["max_accounts_per_day"] = per_day.reindex(index).fillna(idn)
    n_s, n_f = ipt["n_success"].to_numpy(float), ipt["n_failure"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["failure_ratio"] = np.where(n_s + n_f > 0, n_f / (n_s + n_f), np.nan)
        for g in ERROR_CODE_GROUPS:
            out[f"err_{g}_share"] = np.where(n_f > 0, ipt[f"e_{g}"].to_numpy(float) / n_f, np.nan)
    out["success_then_access"] = _success_then_access(p, index, ipt["n_id"].to_numpy(float))
    total = ctx.accounts if ctx.accounts else acct["user"].nunique()
    out["account_share"] = out["n_accounts"] / total if total else np.nan
    out["accounts"], out["target_set"] = _account_lists(p, index)
    return out


def _nunique(tab: pd.DataFrame, col: str, index: pd.Index, empty: float) -> np.ndarray:
    s = tab.drop_duplicates(["ip", col]).groupby("ip").size().reindex(index)
    return s.astype(float).fillna(empty).to_numpy(dtype=float)


def _sketched(exact: np.ndarray, p: Partials, table: str, index: pd.Index) -> np.ndarray:
    """Exact counts, with the estimates of the origins sketched past the bound filled in."""
    est = p.distinct.get(table)
    if est is None or not len(est):
        return exact
    got = est.reindex(index).to_numpy(dtype=float)
    return np.where(np.isnan(got), exact, np.round(got))


def _success_then_access(p: Partials, index: pd.Index, n_id: np.ndarray) -> np.ndarray:
    """1 if an account signed in successfully and then accessed data from the same origin."""
    a = p.tables["access"]
    hit = (a["access_max"] >= a["success_min"]).groupby(a["ip"]).any()
    v = hit.reindex(index).astype(float).to_numpy(dtype=float, na_value=np.nan)
    v = np.where(np.isnan(v) & (n_id > 0), 0.0, v)
    return np.where(n_id > 0, v, np.nan)


def _account_lists(p: Partials, index: pd.Index) -> tuple[pd.Series, pd.Series]:
    """Sorted account sample (``;``-joined) and a hash of the full target set per origin."""
    acct = p.tables["acct"].drop_duplicates(["ip", "user"])
    if not len(acct):
        na = pd.Series(pd.NA, index=index, dtype="string[pyarrow]")
        return na, na
    # work on integer codes: rank and hash each *distinct* account once
    vocab = np.asarray(p.user.values, dtype=object)
    rank = np.empty(len(vocab), dtype=np.int64)
    rank[np.argsort(vocab, kind="stable")] = np.arange(len(vocab))
    vh = pd.util.hash_array(vocab).astype(np.uint64)
    u = acct["user"].to_numpy(dtype=np.int64)
    df = pd.DataFrame({"ip": acct["ip"].to_numpy(), "r": rank[u], "u": u, "h": vh[u]})
    df = df.sort_values(["ip", "r"], kind="stable")
    # order-independent set hash: sum of member hashes (mod 2**64) and the set size
    hsum = df.groupby("ip")["h"].sum()
    size = df.groupby("ip").size()
    target = size.astype(str) + ":" + hsum.map(lambda x: format(int(x) % 2**64, "016x"))
    head = df.groupby("ip").head(ACCOUNTS_LISTED)
    head = head.assign(name=vocab[head["u"].to_numpy()])
    listed = head.groupby("ip")["name"].agg(";".join)
    return (
        listed.reindex(index).astype("string[pyarrow]"),
        target.reindex(index).astype("string[pyarrow]"),
    )
