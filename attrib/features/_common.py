"""Shared helpers of the feature stage: vocabularies, origin selection, distances."""

from __future__ import annotations

import ipaddress

import numpy as np
import pandas as pd

from attrib.context import OrgContext

__all__: list[str] = []

#: Event sources that carry identity (sign-in / audit) events.
IDENTITY_SOURCES = frozenset({"entra", "okta", "m365"})
EARTH_RADIUS_KM = 6371.0088
_NOT_ORIGIN_V4 = tuple(
    ipaddress.ip_network(n)
    for n in ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
              "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4")
)  # fmt: skip


class Vocab:
    """A growing string -> int code table (codes are stable across chunks)."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}
        self.values: list[str] = []

    def __len__(self) -> int:
        return len(self.values)

    def encode(self, s: pd.Series) -> np.ndarray:
        """Codes of ``s`` (int64, -1 for null), adding unseen values; loops over uniques only."""
        arr = s.astype(object).where(s.notna(), None).to_numpy()
        inv, uniq = pd.factorize(arr, use_na_sentinel=True)
        lut = np.empty(len(uniq) + 1, dtype=np.int64)
        lut[-1] = -1
        for i, u in enumerate(uniq):
            c = self._codes.get(u)
            if c is None:
                c = len(self.values)
                self._codes[u] = c
                self.values.append(u)
            lut[i] = c
        return lut[inv]

    def decode(self, codes: np.ndarray) -> pd.Series:
        """Values of ``codes`` as a string Series (<NA> for -1)."""
        vals = np.asarray(self.values + [None], dtype=object)
        return pd.Series(vals[np.asarray(codes, dtype=np.int64)], dtype="string[pyarrow]")


def origin_eligible(ip: str, context: OrgContext) -> bool:
    """Whether an address can be an origin (public, or an office egress address).

    Parameters
    ----------
    ip
        Address text.
    context
        The organisation (its office networks stay origins; its services never are).

    Returns
    -------
    bool
        False for private, CGNAT-internal, loopback, link-local, multicast, reserved and the
        organisation's own service addresses.
    """
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if any(a in n for n in context.offices):
        return True
    if any(a in n for n in context.services):
        return False
    if isinstance(a, ipaddress.IPv4Address):
        return not any(a in n for n in _NOT_ORIGIN_V4)
    return not (a.is_private and not a.is_global) and not (
        a.is_loopback or a.is_link_local or a.is_multicast or a.is_unspecified
    )


def haversine_km(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in km (vectorised; NaN where any input is NaN)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))), dtype=float)


def fnum(s: pd.Series | np.ndarray) -> np.ndarray:
    """Float numpy view of a nullable series (NaN for <NA>)."""
    if isinstance(s, pd.Series):
        return s.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(s, dtype=float)
