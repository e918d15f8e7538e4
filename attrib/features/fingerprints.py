"""Fingerprint features: TLS/User-Agent/TCP traits, how widely each is shared, OS mismatch."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attrib.features.partials import TRAITS, Partials

__all__ = ["EPHEMERAL_DAYS", "fingerprint_features", "top_traits", "ua_os_family"]

#: Origins living less than this many days on residential/mobile networks are "ephemeral".
EPHEMERAL_DAYS = 3.0
#: User-Agent OS family -> the TCP-stack families (``tcp_os``) consistent with it.
_COMPATIBLE = {
    "windows": {"windows"},
    "macos": {"macos", "freebsd"},
    "ios": {"macos", "freebsd"},
    "android": {"linux"},
    "linux": {"linux"},
    "chromeos": {"linux"},
}
_UA_RULES = (  # order matters: Android UAs say "Linux", iOS UAs say "like Mac OS X"
    ("android", r"Android"),
    ("ios", r"iPhone|iPad|iPod|\biOS\b|CFNetwork"),
    ("windows", r"Windows|Win64|WinNT"),
    ("macos", r"Macintosh|Mac OS X|macOS"),
    ("chromeos", r"CrOS"),
    ("linux", r"Linux|X11"),
)
_TOP = {"ua": "top_user_agent", "ja4": "top_ja4", "tcp_fp": "top_tcp_fp", "tcp_os": "tcp_os"}


def ua_os_family(ua: pd.Series) -> pd.Series:
    """OS family a User-Agent claims (``windows``, ``macos``, ``ios``, ``android``, ...).

    Parameters
    ----------
    ua
        User-Agent strings.

    Returns
    -------
    pandas.Series
        Family or <NA> when the string names no OS (e.g. ``python-requests/2.31``).
    """
    s = ua.astype("string")
    out = pd.Series(pd.NA, index=s.index, dtype="string[pyarrow]")
    for fam, rx in reversed(_UA_RULES):
        out = out.mask(s.str.contains(rx, regex=True).fillna(False).astype(bool), fam)
    return out


def top_traits(p: Partials, index: pd.Index) -> pd.DataFrame:
    """Most frequent value of each trait per origin, and distinct counts.

    Parameters
    ----------
    p
        Merged partials.
    index
        Origin codes.

    Returns
    -------
    pandas.DataFrame
        ``top_user_agent``, ``top_ja4``, ``top_tcp_fp``, ``tcp_os``, ``n_user_agents``,
        ``n_ja4`` (NaN when the trait was never observed in the data at all).
    """
    tr = p.tables["trait"]
    out = pd.DataFrame(index=index)
    for k, name in enumerate(TRAITS):
        t = tr[tr["trait"] == k]
        # ties broken by the smaller code (first seen) for determinism
        t = t.sort_values(["ip", "n", "value"], ascending=[True, False, True], kind="stable")
        top = t.drop_duplicates("ip").set_index("ip")["value"].reindex(index)
        codes = top.fillna(-1).to_numpy(dtype=np.int64)
        out[_TOP[name]] = p.trait[name].decode(codes).to_numpy()
        out[_TOP[name]] = out[_TOP[name]].astype("string[pyarrow]")
        if name in ("ua", "ja4"):
            cnt = t.groupby("ip").size().reindex(index).astype(float)
            col = "n_user_agents" if name == "ua" else "n_ja4"
            out[col] = cnt.fillna(0.0) if len(t) else np.nan
    return out


def fingerprint_features(
    tops: pd.DataFrame, lifetime_days: np.ndarray, net_type: pd.Series, p: Partials
) -> pd.DataFrame:
    """Sharing counts, OS mismatch and MSS/MTU tunnel hints per origin.

    Parameters
    ----------
    tops
        Output of :func:`top_traits`.
    lifetime_days
        Lifetime per origin (aligned to ``tops``).
    net_type
        Enrichment network type per origin (aligned).
    p
        Merged partials.

    Returns
    -------
    pandas.DataFrame
        ``ua_peers``, ``ja4_peers``, ``tcp_fp_peers`` (other origins with the same top value),
        their ``*_ephemeral`` variants, ``ua_peers_unknown_share`` (of the failed sign-ins of
        all origins sharing the User-Agent, the share naming accounts that do not exist),
        ``ua_peers_lifetime_days`` (median lifetime of the origins sharing it),
        ``os_mismatch``, ``tunnel_share``, ``pppoe_share``,
        and the descriptive ``ua_os``.
    """
    out = pd.DataFrame(index=tops.index)
    nt = net_type.astype("string").to_numpy(dtype=object, na_value="")
    eph = (np.asarray(lifetime_days) < EPHEMERAL_DAYS) & np.isin(nt, ["residential", "mobile"])
    for feat, col in (("ua", "top_user_agent"), ("ja4", "top_ja4"), ("tcp_fp", "top_tcp_fp")):
        v = tops[col]
        known = v.notna().to_numpy()
        df = v.map(v.value_counts()).to_numpy(dtype=float, na_value=np.nan)
        e = pd.Series(eph.astype(float), index=tops.index).groupby(v).sum()
        de = v.map(e).to_numpy(dtype=float, na_value=np.nan)
        out[f"{feat}_peers"] = np.where(known, df - 1, np.nan)
        out[f"{feat}_peers_ephemeral"] = np.where(known, de - eph, np.nan)
    out["ua_os"] = ua_os_family(tops["top_user_agent"]).to_numpy()
    out["os_mismatch"] = _os_mismatch(out["ua_os"], tops["tcp_os"])
    ua = tops["top_user_agent"]
    life = pd.Series(np.asarray(lifetime_days, dtype=float), index=tops.index)
    med = life[ua.notna().to_numpy()].groupby(ua[ua.notna()], sort=False).median()
    out["ua_peers_lifetime_days"] = ua.map(med).to_numpy(dtype=float, na_value=np.nan)
    ipt = p.tables["ip"].set_index("ip").reindex(tops.index)
    out["ua_peers_unknown_share"] = _peer_share(
        ua,
        ipt["e_unknown_account"].to_numpy(dtype=float),
        ipt["n_failure"].to_numpy(dtype=float),
    )
    syn = ipt["n_syn"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["tunnel_share"] = np.where(syn > 0, ipt["n_tunnel"].to_numpy(float) / syn, np.nan)
        out["pppoe_share"] = np.where(syn > 0, ipt["n_pppoe"].to_numpy(float) / syn, np.nan)
    return out


def _peer_share(key: pd.Series, part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """Per origin: sum of ``part`` over all origins with its ``key`` / sum of ``whole`` (NaN if 0).

    A tool-level trait: commodity credential stuffing tries account names from lists (many
    do not exist); a targeted operator sprays accounts it has enumerated.
    """
    known = key.notna().to_numpy()
    df = pd.DataFrame({"k": key.to_numpy(), "a": np.nan_to_num(part), "b": np.nan_to_num(whole)})
    sums = df[known].groupby("k", sort=False)[["a", "b"]].sum()
    a = key.map(sums["a"]).to_numpy(dtype=float, na_value=np.nan)
    b = key.map(sums["b"]).to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(known & (b > 0), a / b, np.nan)


def _os_mismatch(ua_os: pd.Series, tcp_os: pd.Series) -> np.ndarray:
    """1 when the TCP stack cannot be the User-Agent's OS, 0 when it can, NaN when unknown."""
    u = ua_os.astype("string").fillna("").to_numpy(dtype=object)
    t = tcp_os.astype("string").fillna("").to_numpy(dtype=object)
    pairs = pd.DataFrame({"u": u, "t": t})
    uniq = pairs[(pairs["u"] != "") & (pairs["t"] != "")].drop_duplicates()
    uniq["val"] = [
        float(b not in _COMPATIBLE.get(a, {b})) for a, b in zip(uniq["u"], uniq["t"], strict=True)
    ]  # over unique (ua_os, tcp_os) pairs only
    res = pairs.merge(uniq, on=["u", "t"], how="left")["val"]
    return res.to_numpy(dtype=float)
