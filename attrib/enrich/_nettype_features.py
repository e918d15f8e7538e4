"""Per-ASN evidence for the network-type classifier, from the bundle's own segment tables.

Everything here is derived from redistributable data only: the IPv4/IPv6 -> ASN segments, the
DB-IP City Lite segments and places, the registration (whois) country segments, the list
snapshots' range tags and the ASN lists. The same function runs in the full build (on freshly
built segments) and offline (on the shipped ``data/enrich/*.parquet``), so the evidence of a
shipped bundle can always be re-derived without downloading anything.

Evidence per ASN (IPv4 unless said otherwise):

* size and fragmentation: addresses, contiguous blocks, share of the largest block;
* geographic spread: distinct cities, places (coordinates), countries, and geolocation runs
  (how often the place changes along the address space), each also per /24;
* registration: the whois country covering most of the space, how many whois countries, the
  share of space geolocated outside its whois country, and the ASN number (a proxy for the
  allocation's age and registry block);
* published ranges: share of the space in cloud, datacenter, VPN ranges; Tor exits, iCloud
  Private Relay egress;
* list membership: X4BNet datacenter / VPN ASN lists, brianhama bad-asn-list;
* IPv6 segments announced;
* geographic dispersion: the address-weighted mean distance (km) of the space from its own
  centroid, the share of the space more than 500 km from it, and the share in the largest
  city -- a town's fibre network sits within tens of km, an enterprise's offices and a
  hoster's points of presence are far apart, a datacenter is one city;
* sibling ASNs: how many other ASNs carry the same organisation name, and the share of them a
  hosting source names (:func:`with_siblings`).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__: list[str] = []  # private module

log = logging.getLogger(__name__)

#: Tag groups whose address coverage is evidence (column suffix -> tags in a tag set).
TAG_GROUPS: dict[str, tuple[str, ...]] = {
    "cloud": ("cloud",),
    "dcrange": ("datacenter",),
    "vpnrange": ("vpn",),
    "tor": ("tor_exit",),
    "relay": ("private_relay",),
}

#: Numeric evidence columns the classifier bins (see :mod:`attrib.enrich._nettype_model`).
NUMERIC = (
    "log2_addr", "log2_blocks", "blocks_per_24", "max_block_share", "n_cities", "n_countries",
    "cities_per_24", "points_per_24", "points_per_city", "runs_per_24", "countries_per_24",
    "top_country_share", "geo_outside_whois", "n_whois_countries", "log2_v6_segments", "asn_number",
    "frac_cloud", "frac_dcrange", "frac_vpnrange", "frac_tor", "frac_relay",
    "spread_km", "far_share", "top_city_share", "log2_mean_block", "sib_n", "sib_host",
)  # fmt: skip

#: Boolean list-membership columns.
LISTS = ("in_datacenter_list", "in_vpn_list", "in_bad_asn_list")

#: Evidence that names an ASN as hosting (a list membership, or >= half its space in ranges).
HOSTING_EVIDENCE = ("in_datacenter_list", "in_vpn_list", "in_bad_asn_list", "frac_cloud",
                    "frac_dcrange")  # fmt: skip


def broadband_shape(ev: pd.DataFrame) -> np.ndarray:
    """National access-network shape: >= 2^20 addresses in >= 100 cities of one country."""
    return (
        (ev["n_addr"].to_numpy() >= 1 << 20)
        & (ev["n_cities"].to_numpy() >= 100)
        & (ev["top_country_share"].fillna(0).to_numpy() >= 0.95)
        & (ev["geo_outside_whois"].fillna(1).to_numpy() < 0.05)
    )


def _lookup(starts: np.ndarray, values: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return values[np.searchsorted(starts.astype(np.int64), pts, side="right") - 1]


def _nunique(codes: np.ndarray, vals: np.ndarray, n: int) -> np.ndarray:
    """Distinct ``vals`` per ``codes`` (0..n-1)."""
    if len(codes) == 0:
        return np.zeros(n, dtype=np.int64)
    pair = np.unique(codes.astype(np.int64) * (1 << 31) + vals.astype(np.int64))
    return np.bincount(pair >> 31, minlength=n)


def _read_asns(path: Path) -> set[int]:
    out: set[int] = set()
    if not path.exists():
        log.warning("list %s missing; skipped", path)
        return out
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = re.match(r"\s*(?:AS)?(\d+)", line, re.IGNORECASE)
        if m:
            out.add(int(m.group(1)))
    return out


def list_memberships(netlists: Path) -> dict[str, set[int]]:
    """ASN sets of the bundled ASN lists (``in_datacenter_list`` etc. -> ASNs)."""
    xb = netlists / "x4bnet-lists_vpn"
    bad_path = netlists / "bad-asn-list" / "bad-asn-list.csv"
    bad: set[int] = set()
    if bad_path.exists():
        t = pd.read_csv(bad_path, dtype=str, skipinitialspace=True)
        bad = {int(x) for x in t["ASN"] if str(x).strip().isdigit()}
    else:
        log.warning("list %s missing; skipped", bad_path)
    return {
        "in_datacenter_list": _read_asns(xb / "datacenter_ASN.txt"),
        "in_vpn_list": _read_asns(xb / "vpn_ASN.txt"),
        "in_bad_asn_list": bad,
    }


def asn_evidence(
    orgs: pd.DataFrame,
    asn4: tuple[np.ndarray, np.ndarray],
    city4: tuple[np.ndarray, np.ndarray],
    locations: pd.DataFrame,
    whois4: tuple[np.ndarray, np.ndarray],
    countries: np.ndarray,
    tags4: tuple[np.ndarray, np.ndarray],
    tag_sets: np.ndarray,
    v6_asn_values: np.ndarray,
    lists: dict[str, set[int]],
) -> pd.DataFrame:
    """Evidence table, one row per row of ``orgs`` (sorted ``asn``, ``org``).

    Parameters
    ----------
    orgs
        ``asn`` (sorted) and ``org``; segment values of ``asn4`` are rows of it.
    asn4, city4, whois4, tags4
        IPv4 segment tables ``(starts, values)``; value ``-1`` is no data.
    locations
        Places of ``city4`` (``city``, ``country``, ``lat``, ``lon``).
    countries
        Country codes of ``whois4``.
    tag_sets
        Comma-joined tag sets of ``tags4``.
    v6_asn_values
        Values (rows of ``orgs``) of the IPv6 ASN segments.
    lists
        ASN sets from :func:`list_memberships`.

    Returns
    -------
    pandas.DataFrame
        ``asn``, ``org``, ``n_addr`` and the :data:`NUMERIC` and :data:`LISTS` columns.
    """
    n = len(orgs)
    a_s = asn4[0].astype(np.int64)
    pts = np.unique(np.concatenate([a_s, *(t[0].astype(np.int64) for t in (city4, whois4, tags4))]))
    length = np.diff(np.append(pts, 1 << 32))
    code = _lookup(asn4[0], asn4[1], pts)
    ok = code >= 0
    pts, length, code = pts[ok], length[ok], code[ok].astype(np.int64)
    loc = _lookup(city4[0], city4[1], pts).astype(np.int64)
    who = _lookup(whois4[0], whois4[1], pts).astype(np.int64)
    tag = _lookup(tags4[0], tags4[1], pts).astype(np.int64)

    n_addr = np.bincount(code, weights=length, minlength=n)
    seg_len = np.diff(np.append(a_s, 1 << 32))
    seg_ok = asn4[1] >= 0
    seg_code = asn4[1][seg_ok].astype(np.int64)
    blocks = np.bincount(seg_code, minlength=n)
    max_block = np.zeros(n)
    np.maximum.at(max_block, seg_code, seg_len[seg_ok].astype(np.float64))

    has_geo = loc >= 0
    lc = locations["country"].astype(str).to_numpy()
    place = pd.factorize(lc + "|" + locations["city"].fillna("").astype(str).to_numpy())[0]
    cc_codes, cc_names = pd.factorize(pd.Series(np.append(lc, countries.astype(str))))
    geo_cc = cc_codes[: len(lc)]
    who_cc = cc_codes[len(lc) :]
    g_code, g_loc = code[has_geo], loc[has_geo]
    n_cities = _nunique(g_code, place[g_loc], n)
    n_points = _nunique(g_code, g_loc, n)
    n_countries = _nunique(g_code, geo_cc[g_loc], n)
    # geolocation runs: pieces where (asn, place) differs from the piece before
    key = code * (1 << 31) + np.where(has_geo, loc, -1)
    runs = np.bincount(code[np.r_[True, key[1:] != key[:-1]]], minlength=n)

    gcc = np.where(has_geo, geo_cc[np.maximum(loc, 0)], -1)
    top_share = _top_share(code[has_geo], gcc[has_geo], length[has_geo], n, n_addr)
    has_who = who >= 0
    wcc = np.where(has_who, who_cc[np.maximum(who, 0)], -1)
    n_whois = _nunique(code[has_who], wcc[has_who], n)
    both = has_geo & has_who
    outside = np.bincount(code[both], weights=length[both] * (gcc[both] != wcc[both]), minlength=n)
    geo_addr = np.bincount(code[both], weights=length[both], minlength=n)
    main_whois = _top_value(code[has_who], wcc[has_who], length[has_who], n)

    spread, far = _dispersion(g_code, length[has_geo], locations, g_loc, n)
    top_city = _top_share(g_code, place[g_loc], length[has_geo], n, n_addr)

    out = orgs[["asn", "org"]].reset_index(drop=True).copy()
    out["n_addr"] = n_addr.astype(np.int64)
    n24 = np.maximum(n_addr / 256.0, 1.0)
    out["log2_addr"] = np.log2(np.maximum(n_addr, 1.0))
    out["log2_blocks"] = np.log2(np.maximum(blocks, 1))
    out["blocks_per_24"] = blocks / n24
    out["max_block_share"] = np.where(n_addr > 0, max_block / np.maximum(n_addr, 1), np.nan)
    out["n_cities"] = n_cities
    out["n_countries"] = n_countries
    out["cities_per_24"] = n_cities / n24
    out["points_per_24"] = n_points / n24
    out["points_per_city"] = np.where(n_cities > 0, n_points / np.maximum(n_cities, 1), np.nan)
    out["runs_per_24"] = runs / n24
    out["countries_per_24"] = n_countries / n24
    out["top_country_share"] = np.where(n_addr > 0, top_share, np.nan)
    out["geo_outside_whois"] = np.where(geo_addr > 0, outside / np.maximum(geo_addr, 1), np.nan)
    out["n_whois_countries"] = n_whois
    out["spread_km"] = np.where(n_cities > 0, spread, np.nan)
    out["far_share"] = np.where(n_cities > 0, far, np.nan)
    out["top_city_share"] = np.where(n_cities > 0, top_city, np.nan)
    out["log2_mean_block"] = np.log2(np.maximum(n_addr, 1.0) / np.maximum(blocks, 1))
    names = np.asarray(cc_names, dtype=object)
    out["whois_country"] = pd.Series(
        [names[k] if k >= 0 else None for k in main_whois], dtype="string", index=out.index
    )
    v6 = v6_asn_values[v6_asn_values >= 0].astype(np.int64)
    out["log2_v6_segments"] = np.log2(1 + np.bincount(v6, minlength=n))
    out["asn_number"] = out["asn"].astype(np.float64)
    sets = [set(str(s).split(",")) for s in tag_sets]
    for name, want in TAG_GROUPS.items():
        flag = np.array([bool(s.intersection(want)) for s in sets] + [False])
        hit = flag[np.where(tag >= 0, tag, len(sets))]
        cov = np.bincount(code[hit], weights=length[hit], minlength=n)
        out[f"frac_{name}"] = np.where(n_addr > 0, cov / np.maximum(n_addr, 1), 0.0).clip(0, 1)
    for col in LISTS:
        out[col] = out["asn"].isin(lists.get(col, set()))
    return with_siblings(out)


def hosting_flag(ev: pd.DataFrame, cols: tuple[str, ...] = HOSTING_EVIDENCE) -> np.ndarray:
    """Per ASN: a hosting list names it, or published ranges cover >= half its space."""
    m = np.zeros(len(ev), dtype=bool)
    for c in cols:
        v = ev[c].to_numpy()
        m |= v.astype(bool) if c in LISTS else (np.nan_to_num(v.astype(np.float64)) >= 0.5)
    return m


def with_siblings(ev: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``ev`` with the evidence of the organisation's *other* ASNs.

    ``sib_n`` is log2(1 + the number of other ASNs registered under the same organisation name,
    case and punctuation aside); ``sib_host`` the share of those others that a hosting source
    names (:func:`hosting_flag`; the ASN itself never counts). A cloud operator's small
    single-site ASN looks like an enterprise's on its own; its siblings say what it is.
    """
    key = (
        ev["org"].astype("string").fillna("").str.lower()
        .str.replace(r"[\W_]+", " ", regex=True).str.strip()
    )  # fmt: skip
    code = pd.factorize(key)[0]
    flag = hosting_flag(ev).astype(np.float64)
    others = np.bincount(code)[code] - 1
    host = np.bincount(code, weights=flag)[code] - flag
    named = (key != "").to_numpy()
    out = ev.copy()
    out["sib_n"] = np.where(named, np.log2(1.0 + others), 0.0)
    out["sib_host"] = np.where(named & (others > 0), host / np.maximum(others, 1), 0.0)
    return out


_EARTH_KM = 6371.0
_FAR_KM = 500.0


def _dispersion(
    code: np.ndarray, w: np.ndarray, locations: pd.DataFrame, loc: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per ASN: weighted mean distance (km) from the centroid, share of weight beyond 500 km."""
    if len(code) == 0:
        return np.zeros(n), np.zeros(n)
    lat = np.radians(locations["lat"].to_numpy(np.float64, na_value=np.nan))[loc]
    lon = np.radians(locations["lon"].to_numpy(np.float64, na_value=np.nan))[loc]
    ok = np.isfinite(lat) & np.isfinite(lon)
    code, w, lat, lon = code[ok], w[ok].astype(np.float64), lat[ok], lon[ok]
    xyz = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    tot = np.bincount(code, weights=w, minlength=n)
    cen = np.column_stack([np.bincount(code, weights=w * xyz[:, k], minlength=n) for k in range(3)])
    cen = cen / np.maximum(np.linalg.norm(cen, axis=1, keepdims=True), 1e-12)
    ang = np.arccos(np.clip((xyz * cen[code]).sum(axis=1), -1.0, 1.0)) * _EARTH_KM
    spread = np.bincount(code, weights=w * ang, minlength=n) / np.maximum(tot, 1)
    far = np.bincount(code, weights=w * (ang > _FAR_KM), minlength=n) / np.maximum(tot, 1)
    return spread, far


def _top_share(
    code: np.ndarray, val: np.ndarray, w: np.ndarray, n: int, total: np.ndarray
) -> np.ndarray:
    if len(code) == 0:
        return np.zeros(n)
    s = pd.Series(w).groupby([code, val]).sum()
    best = s.groupby(level=0).max()
    out = np.zeros(n)
    out[best.index.to_numpy()] = best.to_numpy()
    return np.where(total > 0, out / np.maximum(total, 1), 0.0)


def _top_value(code: np.ndarray, val: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, -1, dtype=np.int64)
    if len(code) == 0:
        return out
    s = pd.Series(w).groupby([code, val]).sum().reset_index()
    s.columns = ["code", "val", "w"]
    s = s.sort_values(["code", "w"], ascending=[True, False]).drop_duplicates("code")
    out[s["code"].to_numpy()] = s["val"].to_numpy()
    return out


def evidence_from_bundle(data: Path, netlists: Path) -> pd.DataFrame:
    """Re-derive the evidence table from a shipped bundle (no download).

    Parameters
    ----------
    data
        A ``data/`` folder with ``enrich/*.parquet``.
    netlists
        Folder of the list snapshots (for the ASN lists).
    """
    enr = data / "enrich"

    def seg(name: str) -> tuple[np.ndarray, np.ndarray]:
        t = pd.read_parquet(enr / f"{name}.parquet")
        return t["start"].to_numpy(np.uint32), t["value"].to_numpy(np.int32)

    info = pd.read_parquet(enr / "asn_info.parquet", columns=["asn", "org"])
    return asn_evidence(
        info,
        seg("asn_v4"),
        seg("city_v4"),
        pd.read_parquet(enr / "locations.parquet"),
        seg("country_v4"),
        pd.read_parquet(enr / "countries.parquet")["country"].to_numpy(dtype=object),
        seg("tags_v4"),
        pd.read_parquet(enr / "tag_sets.parquet")["tags"].to_numpy(dtype=object),
        pd.read_parquet(enr / "asn_v6.parquet", columns=["value"])["value"].to_numpy(np.int32),
        list_memberships(netlists),
    )
