"""Addresses drawn from the bundled data by country, network type or ASN (for the simulator)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

import numpy as np
import pandas as pd

from attrib.enrich.enricher import Enricher, default_enricher
from attrib.enrich.rules import NO_NET_TYPE_TAGS
from attrib.errors import DataError
from attrib.schema import NET_TYPES

__all__ = ["sample_ips"]


def sample_ips(
    n: int,
    *,
    rng: np.random.Generator,
    country: str | None = None,
    net_type: str | None = None,
    asn: int | Iterable[int] | None = None,
    family: int = 4,
    enricher: Enricher | None = None,
) -> pd.DataFrame:
    """Draw real public addresses of real networks from the bundled data.

    Networks are chosen with probability proportional to the square root of their size
    (so populations mix big and small networks) and an address uniformly inside; each
    returned row is verified by a full lookup to match every filter and to carry no
    special-use tag.

    Parameters
    ----------
    n
        How many distinct addresses.
    rng
        Random generator (reproducible draws).
    country
        ISO 3166-1 alpha-2 code to require.
    net_type
        One of :data:`attrib.schema.NET_TYPES` to require.
    asn
        An AS number, or several, to draw from.
    family
        4 or 6.
    enricher
        The enricher to use (default :func:`default_enricher` without user databases'
        influence on the draw itself).

    Returns
    -------
    pandas.DataFrame
        ``ip`` + :data:`attrib.schema.ENRICH_COLUMNS`, up to ``n`` rows (fewer only when the
        data holds fewer matching addresses).

    Raises
    ------
    attrib.errors.DataError
        No network in the data matches the filters, or bad arguments.
    """
    if family not in (4, 6):
        raise DataError(f"sample_ips: family must be 4 or 6, not {family!r}")
    if net_type is not None and net_type not in NET_TYPES:
        raise DataError(
            f"sample_ips: unknown net_type {net_type!r} (one of {', '.join(NET_TYPES)})"
        )
    e = enricher or default_enricher()
    b = e.bundle
    if b is None:
        raise DataError("sample_ips needs the bundled data")
    t = e._sample_table(family)
    sel = np.ones(len(t["asn"]), dtype=bool)
    if asn is not None:
        wanted = [int(asn)] if isinstance(asn, (int, np.integer)) else [int(a) for a in asn]
        sel &= np.isin(t["asn"], wanted)
    if net_type is not None:
        sel &= t["net_type"] == net_type
    if country is not None:
        sel &= t["country"] == str(country).upper()
    pick = np.flatnonzero(sel)
    if len(pick) == 0:
        raise DataError(
            f"sample_ips: no network matches country={country!r} net_type={net_type!r} asn={asn!r}"
        )
    lo = t["lo"][pick]
    hi = t["hi"][pick]
    size = t["size"][pick]
    w = np.sqrt(np.minimum(size, 2.0**32))
    w /= w.sum()
    got: dict[str, None] = {}
    frames = []
    for _ in range(20):
        need = n - len(got)
        if need <= 0:
            break
        k = rng.choice(len(pick), size=max(2 * need, 16), p=w)
        cand = []
        for j in k:
            span = int(hi[j] - lo[j])
            off = int(rng.integers(0, min(span, 1 << 62))) if span > 1 else 0
            if span > (1 << 62):
                off = (off << 64 | int(rng.integers(0, 1 << 62))) % span
            a = int(lo[j]) + off
            cand.append(str(ipaddress.IPv4Address(a) if family == 4 else ipaddress.IPv6Address(a)))
        res = e.lookup(cand)
        ok = res["ip"].notna() & res["tags"].fillna("").map(
            lambda t: not any(x in t.split(",") for x in NO_NET_TYPE_TAGS)
        ).astype(bool)
        if country is not None:
            ok &= res["country"].fillna("") == str(country).upper()
        if net_type is not None:
            ok &= res["net_type"].astype(str) == net_type
        res = res[ok & ~res["ip"].isin(list(got))].drop_duplicates("ip")
        res = res.head(need)
        got.update(dict.fromkeys(res["ip"].tolist()))
        frames.append(res)
    out = pd.concat(frames, ignore_index=True) if frames else e.lookup([]).iloc[:0]
    return out.drop(columns=["ip_error"]).reset_index(drop=True)
