"""Fingerprint features: TLS/User-Agent/TCP traits, how widely each is shared, OS mismatch."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attrib.features.accumulator import TRAITS, Partials

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
        their ``*_ephemeral`` variants, ``os_mismatch``, ``tunnel_share``, ``pppoe_share``,
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
    ipt = p.tables["ip"].set_index("ip").reindex(tops.index)
    syn = ipt["n_syn"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["tunnel_share"] = np.where(syn > 0, ipt["n_tunnel"].to_numpy(float) / syn, np.nan)
        out["pppoe_share"] = np.where(syn > 0, ipt["n_pppoe"].to_numpy(float) / syn, np.nan)
    return out


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
