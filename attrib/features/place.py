"""Place and network features: network type, home country, distances, travel, confounders."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attrib.context import OrgContext
from attrib.features._common import fnum, haversine_km
from attrib.features.partials import Partials

__all__ = ["CONFOUNDER_TAGS", "IMPOSSIBLE_KMH", "IMPOSSIBLE_MIN_KM", "place_features"]

#: Enrichment tags exposed as ``tag_<name>`` features.
CONFOUNDER_TAGS = ("private_relay", "tor_exit", "cloud", "vpn", "cgnat")
#: Speed above which consecutive sign-ins of one account from two origins are impossible.
IMPOSSIBLE_KMH = 900.0
#: ... provided the two origins are at least this far apart (geolocation noise).
IMPOSSIBLE_MIN_KM = 300.0
_NET_ONE_HOT = {
    "is_residential": "residential",
    "is_mobile": "mobile",
    "is_hosting": "hosting",
    "is_business": "business",
}


def place_features(
    p: Partials, ctx: OrgContext, index: pd.Index, enr: pd.DataFrame, ips: pd.Series
) -> pd.DataFrame:
    """Place and network features per origin code.

    Parameters
    ----------
    p
        Merged partials.
    ctx
        The organisation (home countries, offices).
    index
        Origin codes.
    enr
        Enrichment columns aligned to ``index`` (all-null when no enrichment was given).
    ips
        Origin addresses aligned to ``index``.

    Returns
    -------
    pandas.DataFrame
        Indexed by origin code.
    """
    out = pd.DataFrame(index=index)
    out["net_type_confidence"] = fnum(enr["net_type_confidence"])
    nt = enr["net_type"].astype("string")
    for col, t in _NET_ONE_HOT.items():
        out[col] = np.where(nt.isna(), np.nan, (nt == t).to_numpy(dtype=bool, na_value=False))
    out["is_office"] = ctx.is_office(pd.Series(ips.to_numpy(), index=index)).astype(float)
    cc = enr["country"].astype("string").str.upper()
    same = cc.isin(list(ctx.home_countries)).to_numpy(dtype=bool)
    out["same_country"] = np.where(cc.isna() | (not ctx.home_countries), np.nan, same)
    lat, lon = fnum(enr["lat"]), fnum(enr["lon"])
    out["dist_usual_km"] = _dist_usual(p, index, lat, lon)
    out["impossible_travel_share"] = _impossible_travel(p, index, lat, lon)
    enriched = enr[["asn", "country", "net_type", "tags"]].notna().any(axis=1).to_numpy()
    tags = enr["tags"].astype("string").fillna("")
    tagsets = "," + tags + ","
    for t in CONFOUNDER_TAGS:
        has = tagsets.str.contains(f",{t},", regex=False).to_numpy(dtype=bool)
        out[f"tag_{t}"] = np.where(enriched, has, np.nan)
    return out


def _loo_median(g: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Leave-one-out median of ``v`` within groups ``g`` (NaN for singleton groups)."""
    order = np.lexsort((v, g))
    gs, vs = g[order], v[order]
    start = np.r_[0, np.flatnonzero(gs[1:] != gs[:-1]) + 1]
    sizes = np.diff(np.r_[start, len(gs)])
    size = np.repeat(sizes, sizes)
    off = np.repeat(start, sizes)
    r = np.arange(len(gs)) - off
    m = size - 1
    res = np.full(len(gs), np.nan)
    ok = m >= 1
    lo, hi = (m - 1) // 2, m // 2

    def pick(k: np.ndarray) -> np.ndarray:
        k2 = np.where(k >= r, k + 1, k)  # skip the removed element
        return vs[np.clip(off + k2, 0, len(vs) - 1)]

    res[ok] = ((pick(lo) + pick(hi)) / 2.0)[ok]
    out = np.empty_like(res)
    out[order] = res
    return out


def _dist_usual(p: Partials, index: pd.Index, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Median over touched accounts of the km to the account's usual place (other origins)."""
    pairs = p.tables["acct"].drop_duplicates(["ip", "user"])[["ip", "user"]]
    pos = index.get_indexer(pd.Index(pairs["ip"]))
    la, lo = lat[pos], lon[pos]
    ok = ~np.isnan(la) & ~np.isnan(lo)
    if not ok.any():
        return np.full(len(index), np.nan)
    u = pairs["user"].to_numpy()[ok]
    mla, mlo = _loo_median(u, la[ok]), _loo_median(u, lo[ok])
    d = haversine_km(la[ok], lo[ok], mla, mlo)
    s = pd.Series(d).groupby(pos[ok]).median()
    return s.reindex(np.arange(len(index))).to_numpy(dtype=float)


def _impossible_travel(
    p: Partials, index: pd.Index, lat: np.ndarray, lon: np.ndarray
) -> np.ndarray:
    """Share of the origin's located accounts with an impossible hop to/from this origin."""
    t = p.tables["travel"]
    if not len(t):
        return np.full(len(index), np.nan)
    pos = index.get_indexer(pd.Index(t["ip"]))
    la, lo = lat[pos], lon[pos]
    ok = ~np.isnan(la)
    t = pd.DataFrame(
        {
            "user": t["user"].to_numpy()[ok],
            "pos": pos[ok],
            "minute": t["minute"].to_numpy()[ok],
            "la": la[ok],
            "lo": lo[ok],
        }
    )
    t = t.sort_values(["user", "minute"], kind="stable").reset_index(drop=True)
    same_user = t["user"].to_numpy()[1:] == t["user"].to_numpy()[:-1]
    other = t["pos"].to_numpy()[1:] != t["pos"].to_numpy()[:-1]
    d = haversine_km(
        t["la"].to_numpy()[:-1],
        t["lo"].to_numpy()[:-1],
        t["la"].to_numpy()[1:],
        t["lo"].to_numpy()[1:],
    )
    hours = np.maximum(np.diff(t["minute"].to_numpy()) / 60.0, 1 / 60)
    bad = same_user & other & (d >= IMPOSSIBLE_MIN_KM) & (d / hours > IMPOSSIBLE_KMH)
    flag = np.zeros(len(t), dtype=bool)
    flag[:-1] |= bad
    flag[1:] |= bad
    t["flag"] = flag
    per = t.groupby(["pos", "user"])["flag"].any().groupby(level="pos").mean()
    return per.reindex(np.arange(len(index))).to_numpy(dtype=float)
