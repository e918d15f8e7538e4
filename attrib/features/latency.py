"""Latency features: transport vs application round trip, RTT-implied distance vs geolocation.

A relay answers the TCP handshake itself, but application data (the TLS client flight) comes
from the operator behind it, so the application round trip exceeds the handshake's by the
relay-to-operator leg. And light in fibre covers about :data:`KM_PER_MS_ONE_WAY` km per ms one
way, so a handshake RTT bounds how far away the exit can be: a geolocation farther than that
bound is wrong (anycast, mislocated VPN ranges).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attrib.features._common import haversine_km
from attrib.features.partials import RTT_KINDS, Partials

__all__ = ["KM_PER_MS_ONE_WAY", "ROUTE_INFLATION", "latency_features", "reference_point"]

#: Distance light travels in optical fibre per millisecond, one way (c / 1.5).
KM_PER_MS_ONE_WAY = 200.0
#: Typical ratio of routed path length to great-circle distance (used for estimates, never
#: for the hard bound).
ROUTE_INFLATION = 2.0
#: Floor on the handshake RTT used for the distance bound (capture/timer resolution).
MIN_RTT_MS = 1.0


def reference_point(
    lat: np.ndarray, lon: np.ndarray, is_office: np.ndarray, same_country: np.ndarray
) -> tuple[float, float]:
    """Where the organisation (the capture point) is, for distance features.

    The median location of office egress origins when any is located, else of origins in the
    home countries; NaN when neither is known.

    Parameters
    ----------
    lat, lon
        Origin geolocations.
    is_office, same_country
        Per-origin flags (NaN = unknown).

    Returns
    -------
    tuple of float
        ``(lat, lon)``.
    """
    located = ~np.isnan(lat) & ~np.isnan(lon)
    for m in (is_office == 1.0, same_country == 1.0):
        sel = located & m
        if sel.any():
            return float(np.median(lat[sel])), float(np.median(lon[sel]))
    return float("nan"), float("nan")


def _median_from_hist(rtt: pd.DataFrame, kind: int, index: pd.Index) -> np.ndarray:
    """Per-origin median from (ip, ms, n) histogram rows (1 ms bins)."""
    t = rtt[rtt["kind"] == kind].sort_values(["ip", "ms"], kind="stable")
    if not len(t):
        return np.full(len(index), np.nan)
    cum = t.groupby("ip")["n"].cumsum().to_numpy()
    tot = t.groupby("ip")["n"].transform("sum").to_numpy()
    t = t.assign(c=cum, half=tot / 2.0)
    lo = t[t["c"] >= t["half"]].drop_duplicates("ip").set_index("ip")["ms"]
    # first bin past the middle: equal to ``lo`` for odd totals, the upper middle for even ones
    hi = t[t["c"] > t["half"]].drop_duplicates("ip").set_index("ip")["ms"]
    med = (lo + hi.reindex(lo.index)) / 2.0
    return pd.Series(med, index=lo.index).reindex(index).to_numpy(dtype=float)


def latency_features(
    p: Partials, index: pd.Index, lat: np.ndarray, lon: np.ndarray, ref: tuple[float, float]
) -> pd.DataFrame:
    """Latency features per origin code.

    Parameters
    ----------
    p
        Merged partials (RTT histograms at 1 ms resolution).
    index
        Origin codes.
    lat, lon
        Origin geolocations (aligned to ``index``).
    ref
        The organisation's location (see :func:`reference_point`).

    Returns
    -------
    pandas.DataFrame
        ``rtt_transport_ms``, ``rtt_app_gap_ms``, ``rtt_app_ratio``, ``geo_dist_ref_km``,
        ``rtt_geo_excess``, ``app_dist_excess_km``.
    """
    r = p.tables["rtt"]
    k = {name: i for i, name in enumerate(RTT_KINDS)}
    transport = _median_from_hist(r, k["transport"], index)
    app = _median_from_hist(r, k["app"], index)
    gap = _median_from_hist(r, k["gap"], index)
    geo = haversine_km(lat, lon, np.full(len(index), ref[0]), np.full(len(index), ref[1]))
    bound = np.maximum(transport, MIN_RTT_MS) / 2.0 * KM_PER_MS_ONE_WAY
    out = pd.DataFrame(index=index)
    out["rtt_transport_ms"] = transport
    out["rtt_app_gap_ms"] = gap
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rtt_app_ratio"] = app / np.maximum(transport, MIN_RTT_MS)
    out["geo_dist_ref_km"] = geo
    out["rtt_geo_excess"] = geo / bound
    out["app_dist_excess_km"] = app / 2.0 * KM_PER_MS_ONE_WAY / ROUTE_INFLATION - geo
    return out
