#!/usr/bin/env python
"""Vectorised enrichment vs geoip2 per-address lookups on the same .mmdb files.

Builds MaxMind-shaped GeoLite2-City and GeoLite2-ASN test databases (IPv4 + IPv6) from real
ranges of the bundled data into ``bench/_work/enrich/`` (cached), draws N addresses (default
1M) from ~100k unique ones with Zipf-like repetition (80 % IPv4, 20 % IPv6), then times

* reference: ``geoip2.database.Reader.city(ip)`` and ``.asn(ip)`` per address (C extension);
* attrib: ``Enricher.load(dir, bundled=False).lookup(ips)`` (compiled index cached on disk),

checks the answers are identical (ASN, organisation, country, city, latitude, longitude) and
prints medians, the speed ratio and peak RSS.

    python bench/enrich_speed.py [--n 1000000] [--unique 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import ipaddress
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORK = ROOT / "bench" / "_work" / "enrich"


def build_dbs(n_v4: int, n_v6: int, seed: int = 0) -> tuple[Path, Path]:
    from mmdb_writer import MmdbF64, MmdbU32, MMDBWriter
    from netaddr import IPNetwork, IPSet

    from attrib.enrich._bundle import load_bundle

    d = WORK / f"dbs-{n_v4}-{n_v6}"  # one folder per configuration: Enricher loads all of it
    city_p = d / "GeoLite2-City.mmdb"
    asn_p = d / "GeoLite2-ASN.mmdb"
    if city_p.exists() and asn_p.exists():
        return city_p, asn_p
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    b = load_bundle(ROOT / "data")
    locs = b.locations
    info = b.asn_info
    city_w = MMDBWriter(
        6, "GeoLite2-City", languages=["en"], description="attrib bench", ipv4_compatible=True
    )
    asn_w = MMDBWriter(
        6, "GeoLite2-ASN", languages=["en"], description="attrib bench", ipv4_compatible=True
    )
    # IPv4: real city segments -> aligned CIDRs with the place's record
    s4 = b.city.v4_starts.astype(np.int64)
    v4 = b.city.v4_values
    ok = np.flatnonzero(v4[:-1] >= 0)
    pick = np.sort(rng.choice(ok, size=min(n_v4, len(ok)), replace=False))
    for i in pick:
        start, end = int(s4[i]), int(s4[i + 1]) - 1
        net = IPNetwork(f"{ipaddress.IPv4Address(start)}/32")
        # largest aligned block from start within the segment
        plen = 32
        while (
            plen > 8 and start % (1 << (33 - plen)) == 0 and start + (1 << (33 - plen)) - 1 <= end
        ):
            plen -= 1
        net = IPNetwork(f"{ipaddress.IPv4Address(start)}/{plen}")
        loc = locs.iloc[int(v4[i])]
        rec = {
            "country": {"iso_code": str(loc["country"]), "names": {"en": str(loc["country"])}},
            "location": {
                "latitude": MmdbF64(float(loc["lat"])),
                "longitude": MmdbF64(float(loc["lon"])),
                "accuracy_radius": 50,
            },
        }
        if pd.notna(loc["city"]):
            rec["city"] = {"names": {"en": str(loc["city"])}}
        city_w.insert_network(IPSet([net]), rec)
        a = b.asn.lookup(
            np.array([True]), np.array([start], dtype=np.uint32), np.array([b""], dtype="S16")
        )[0]
        if a >= 0:
            asn_w.insert_network(
                IPSet([net]),
                {
                    "autonomous_system_number": MmdbU32(int(info["asn"].iat[a])),
                    "autonomous_system_organization": str(info["org"].iat[a]),
                },
            )
    # IPv6: real ASN segments (their /32../48 prefix) with a country-level record
    s6 = b.asn.v6_starts
    v6 = b.asn.v6_values
    ok6 = np.flatnonzero(v6[:-1] >= 0)
    pick6 = np.sort(rng.choice(ok6, size=min(n_v6, len(ok6)), replace=False))
    countries = b.countries
    for i in pick6:
        x = int.from_bytes(bytes(s6[i]).ljust(16, b"\0"), "big")
        nxt = int.from_bytes(bytes(s6[i + 1]).ljust(16, b"\0"), "big")
        plen = 128
        while plen > 16 and x % (1 << (129 - plen)) == 0 and x + (1 << (129 - plen)) <= nxt:
            plen -= 1
        net = IPNetwork(f"{ipaddress.IPv6Address(x)}/{plen}")
        a = int(v6[i])
        asn_w.insert_network(
            IPSet([net]),
            {
                "autonomous_system_number": MmdbU32(int(info["asn"].iat[a])),
                "autonomous_system_organization": str(info["org"].iat[a]),
            },
        )
        cc = str(countries[rng.integers(len(countries))])
        city_w.insert_network(IPSet([net]), {"country": {"iso_code": cc, "names": {"en": cc}}})
    city_w.to_db_file(str(city_p))
    asn_w.to_db_file(str(asn_p))
    return city_p, asn_p


def draw_addresses(city_p: Path, n: int, n_unique: int, seed: int = 1) -> list[str]:
    import maxminddb

    rng = np.random.default_rng(seed)
    nets4, nets6 = [], []
    with maxminddb.open_database(str(city_p)) as r:
        for net, _ in r:
            (nets4 if net.version == 4 else nets6).append(net)
    uniq: list[str] = []
    n6 = n_unique // 5
    for _ in range(n_unique - n6):
        if rng.random() < 0.9:
            net = nets4[rng.integers(len(nets4))]
            uniq.append(str(net.network_address + int(rng.integers(net.num_addresses))))
        else:  # anywhere (may be outside every network)
            uniq.append(str(ipaddress.IPv4Address(int(rng.integers(1 << 32)))))
    for _ in range(n6):
        net = nets6[rng.integers(len(nets6))]
        off = int(rng.integers(1 << 62)) % net.num_addresses
        uniq.append(str(net.network_address + off))
    # Zipf-like repetition: rank-r address has weight 1/r
    w = 1.0 / np.arange(1, len(uniq) + 1)
    w /= w.sum()
    idx = rng.choice(len(uniq), size=n, p=w)
    perm = rng.permutation(len(uniq))  # so popularity is unrelated to family/position
    return [uniq[perm[i]] for i in idx]


def reference(city_p: Path, asn_p: Path, ips: list[str]) -> tuple[float, dict[str, list]]:
    import geoip2.database
    import geoip2.errors

    nf = geoip2.errors.AddressNotFoundError
    out_asn, out_org, out_cc, out_city, out_lat, out_lon = [], [], [], [], [], []
    with geoip2.database.Reader(str(city_p)) as cr, geoip2.database.Reader(str(asn_p)) as ar:
        t = time.perf_counter()
        for ip in ips:
            try:
                c = cr.city(ip)
                out_cc.append(c.country.iso_code)
                out_city.append(c.city.name)
                out_lat.append(c.location.latitude)
                out_lon.append(c.location.longitude)
            except nf:
                out_cc.append(None)
                out_city.append(None)
                out_lat.append(None)
                out_lon.append(None)
            try:
                a = ar.asn(ip)
                out_asn.append(a.autonomous_system_number)
                out_org.append(a.autonomous_system_organization)
            except nf:
                out_asn.append(None)
                out_org.append(None)
        dt = time.perf_counter() - t
    cols = {
        "asn": out_asn,
        "as_org": out_org,
        "country": out_cc,
        "city": out_city,
        "lat": out_lat,
        "lon": out_lon,
    }
    return dt, cols


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--unique", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--v4-networks", type=int, default=40_000)
    ap.add_argument("--v6-networks", type=int, default=10_000)
    ap.add_argument(
        "--ref-repeat", type=int, default=3, help="rounds that also time geoip2 (<= --repeat)"
    )
    args = ap.parse_args(argv)
    from attrib.enrich import Enricher

    t = time.perf_counter()
    city_p, asn_p = build_dbs(args.v4_networks, args.v6_networks)
    print(
        f"databases: {city_p.name} ({city_p.stat().st_size / 1e6:.1f} MB), {asn_p.name} ({asn_p.stat().st_size / 1e6:.1f} MB) [{time.perf_counter() - t:.1f} s]"
    )
    ips = draw_addresses(city_p, args.n, args.unique)
    n6 = sum(":" in x for x in ips)
    print(f"addresses: {len(ips):,} ({len(set(ips)):,} unique, {n6 / len(ips):.0%} IPv6)")
    cache = WORK / "cache"
    t = time.perf_counter()
    e = Enricher.load(city_p.parent, bundled=False, cache_dir=cache)
    print(
        f"Enricher.load (compile or cache): {time.perf_counter() - t:.2f} s, databases: {[d.kind for d in e.user_dbs]}"
    )
    # interleave the two paths so that load changes on a shared machine hit both alike
    ours_t: list[float] = []
    ref_t: list[float] = []
    res = None
    ref = None
    for r in range(args.repeat):
        t = time.perf_counter()
        res = e.lookup(ips)
        ours_t.append(time.perf_counter() - t)
        if r < args.ref_repeat:
            dt_, ref = reference(city_p, asn_p, ips)
            ref_t.append(dt_)
        ratio = f", ratio {ref_t[-1] / ours_t[-1]:.1f}x" if r < args.ref_repeat else ""
        print(
            f"  round {r + 1}: attrib {ours_t[-1]:.2f} s"
            + (f", geoip2 {ref_t[-1]:.2f} s" if r < args.ref_repeat else "")
            + ratio
        )
    mismatches = 0
    for c, b in ref.items():
        a = [None if pd.isna(v) else v for v in res[c].tolist()]
        bad = sum(x != y for x, y in zip(a, b, strict=True))
        if bad:
            print(f"  MISMATCH {c}: {bad} rows")
        mismatches += bad
    found = int(res["country"].notna().sum())
    om, rm = statistics.median(ours_t), statistics.median(ref_t)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"attrib vectorised lookup: median {om:.2f} s over {args.repeat} runs ({len(ips) / om / 1e6:.2f} M addr/s)"
    )
    print(
        f"geoip2 Reader.city()+asn() per address: median {rm:.2f} s over {len(ref_t)} run(s) ({len(ips) / rm / 1e3:.0f} k addr/s)"
    )
    per_round = [r_ / o_ for r_, o_ in zip(ref_t, ours_t, strict=False)]
    print(
        f"per-round ratios: {', '.join(f'{x:.1f}x' for x in per_round)} (median {statistics.median(per_round):.1f}x)"
    )
    print(
        f"speed ratio (median/median): {rm / om:.1f}x   identical answers: {mismatches == 0} ({len(ips):,} rows, {found:,} with a location)"
    )
    print(f"peak RSS: {rss:.0f} MB")
    t = time.perf_counter()
    e2 = Enricher.load(city_p.parent, cache_dir=cache)
    e2.lookup(ips)
    print(f"full path with bundled data too (load + lookup): {time.perf_counter() - t:.2f} s")
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
