"""Shared helpers of the feature stage: vocabularies, origin selection, distances."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
_V4_NOT_ORIGIN = np.asarray(
    [(int(n.network_address), int(n.broadcast_address)) for n in _NOT_ORIGIN_V4], dtype=np.int64
)


class Vocab:
    """A growing string -> int code table (codes are stable across chunks)."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}
        self.values: list[str] = []

    def __len__(self) -> int:
        return len(self.values)

    def encode(self, s: pd.Series) -> np.ndarray:
        """Codes of ``s`` (int64, -1 for null), adding unseen values; loops over uniques only.

        Text is dictionary-encoded by Arrow (uniques in order of first appearance, as
        :func:`pandas.factorize`), so no Python object is made per row.
        """
        if not len(s):
            return np.zeros(0, dtype=np.int64)
        arr = _arrow_text(s)
        if arr is None:
            return self._encode_objects(s)
        if arr.null_count == len(arr):
            return np.full(len(s), -1, dtype=np.int64)
        enc = pc.dictionary_encode(arr)
        idx = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        return self._lut(enc.dictionary.to_pylist())[idx]

    def _encode_objects(self, s: pd.Series) -> np.ndarray:
        arr = s.astype(object).where(s.notna(), None).to_numpy()
        inv, uniq = pd.factorize(arr, use_na_sentinel=True)
        return self._lut(list(uniq))[inv]

    def _lut(self, uniq: Sequence[Any]) -> np.ndarray:
        """Codes of ``uniq`` (new values appended in order), with -1 at the end for nulls."""
        lut = np.empty(len(uniq) + 1, dtype=np.int64)
        lut[-1] = -1
        for i, u in enumerate(uniq):
            c = self._codes.get(u)
            if c is None:
                c = len(self.values)
                self._codes[u] = c
                self.values.append(u)
            lut[i] = c
        return lut

    def decode(self, codes: np.ndarray) -> pd.Series:
        """Values of ``codes`` as a string Series (<NA> for -1)."""
        vals = np.asarray(self.values + [None], dtype=object)
        return pd.Series(vals[np.asarray(codes, dtype=np.int64)], dtype="string[pyarrow]")


def _arrow_text(s: pd.Series) -> pa.Array | None:
    """``s`` as one Arrow string array when it holds text (else None: encode objects)."""
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype) or not (
        isinstance(dt, pd.StringDtype) or pd.api.types.is_object_dtype(dt)
    ):
        return None
    try:
        arr = pa.array(s, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None if not pa.types.is_null(arr.type) else arr
    return arr


def _v4_ranges(nets: Sequence[object]) -> np.ndarray:
    r = [(int(n.network_address), int(n.broadcast_address)) for n in nets
         if isinstance(n, ipaddress.IPv4Network)]  # fmt: skip
    return np.asarray(r, dtype=np.int64).reshape(-1, 2)


def _in_ranges(v: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    out = np.zeros(len(v), dtype=bool)
    for lo, hi in ranges:
        out |= (v >= lo) & (v <= hi)
    return out


def origins_eligible(values: Sequence[str], context: OrgContext) -> np.ndarray:
    """:func:`origin_eligible` of many addresses: IPv4 by integer ranges, the rest one by one.

    Parameters
    ----------
    values
        Address texts.
    context
        The organisation.

    Returns
    -------
    numpy.ndarray
        bool, aligned to ``values``.
    """
    v4 = np.full(len(values), -1, dtype=np.int64)
    for i, v in enumerate(values):
        try:
            v4[i] = int(ipaddress.IPv4Address(v))
        except ValueError:
            pass
    is4 = v4 >= 0
    office = _in_ranges(v4, _v4_ranges(context.offices))
    service = _in_ranges(v4, _v4_ranges(context.services))
    out = is4 & (office | (~service & ~_in_ranges(v4, _V4_NOT_ORIGIN)))
    for j in np.flatnonzero(~is4).tolist():
        out[j] = origin_eligible(values[j], context)
    return out


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
