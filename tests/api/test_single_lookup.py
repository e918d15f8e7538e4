"""The pandas-free single-address path answers exactly what ``attrib.enrich()`` answers."""

from __future__ import annotations

import ipaddress
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from attrib.enrich import Enricher, default_enricher
from attrib.enrich.single import FIELDS, lookup_one
from attrib.enrich.tags import SPECIAL_RANGES

from .conftest import Server

EDGE = [
    # private, shared, loopback, link-local, documentation, multicast, reserved, unallocated
    "10.0.0.0", "10.255.255.255", "9.255.255.255", "11.0.0.0", "172.16.0.1", "172.31.255.255",
    "172.32.0.0", "192.168.0.0", "192.168.255.255", "100.64.0.0", "100.127.255.255",
    "100.128.0.0", "127.0.0.1", "169.254.1.1", "192.0.2.1", "198.51.100.7", "203.0.113.9",
    "224.0.0.1", "239.255.255.255", "240.0.0.1", "255.255.255.255", "0.0.0.0", "0.1.2.3",
    "198.18.0.1", "192.88.99.1", "::", "::1", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12::1",
    "ff02::1", "2001:db8::1", "3fff::1", "2002:c000:0204::1", "2001::1", "2001:2::1",
    "64:ff9b:1::1", "100::1", "fec0::1", "4000::1", "3ffe::1", "2c0f:ffff:ffff::1",
    # real networks, textual variants
    "8.8.8.8", "1.1.1.1", "9.9.9.9", "81.2.69.160", "2001:4860:4860::8888",
    "2606:4700:4700::1111", "[2001:4860:4860::8888]:443", "1.2.3.4:443", "1.2.3[.]4",
    "hxxp://8.8.8.8:8080/x", "::ffff:8.8.8.8", "2001:DB8::1", " 10.0.0.1 ", "1.2.3.4/32",
    # invalid
    "", "bogus", "999.1.1.1", "1.2.3", "01.2.3.4", "1.2.3.4/24", "1.2.3.4:99999", "\x00",
    "fe80::1%", "1.2.3.4.5", "::ffff:999.1.1.1",
]  # fmt: skip


def _plain(v: Any) -> Any:
    if v is None or v is pd.NA:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def _reference(e: Enricher, ips: list[str]) -> list[dict[str, Any]]:
    df = e.lookup(ips).astype(object)
    out = []
    for rec in df.to_dict("records"):
        ref = {k: _plain(rec[k]) for k in FIELDS}
        ref["net_type"] = None if ref["net_type"] is None else str(ref["net_type"])
        out.append(ref)
    return out


def _addresses(e: Enricher, n4: int = 3000, n6: int = 1000, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    ips = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(n4)]
    ips += [str(ipaddress.IPv6Address((0x2000 << 112) | rng.getrandbits(100))) for _ in range(n6)]
    ips += [str(ipaddress.IPv6Address(rng.getrandbits(128))) for _ in range(100)]
    ips += EDGE
    for net, _ in SPECIAL_RANGES:  # both ends of every special-use range and their neighbours
        n = ipaddress.ip_network(net)
        top = (1 << n.max_prefixlen) - 1
        for a in (int(n.network_address) - 1, int(n.network_address), int(n.broadcast_address),
                  int(n.broadcast_address) + 1):  # fmt: skip
            if 0 <= a <= top:
                ips.append(str(ipaddress.ip_address(a) if n.version == 4 else
                               ipaddress.IPv6Address(a)))  # fmt: skip
    b = e.bundle
    if (
        b is not None
    ):  # segment boundaries of every bundled index (first address and the one before)
        r = np.random.default_rng(seed)
        for idx in (b.asn, b.country, b.city, b.tags):
            for s in r.choice(idx.v4_starts, size=min(150, len(idx.v4_starts))).tolist():
                ips += [str(ipaddress.IPv4Address(s)), str(ipaddress.IPv4Address(max(s - 1, 0)))]
            if len(idx.v6_starts) > 1:
                for k in r.choice(idx.v6_starts, size=min(100, len(idx.v6_starts))).tolist():
                    a = int.from_bytes(k.ljust(16, b"\0"), "big")
                    ips += [
                        str(ipaddress.IPv6Address(a)),
                        str(ipaddress.IPv6Address(max(a - 1, 0))),
                    ]
    return ips


def _assert_same(e: Enricher, ips: list[str]) -> None:
    ref = _reference(e, ips)
    bad = [
        (ip, r, lookup_one(e, ip)) for ip, r in zip(ips, ref, strict=True) if lookup_one(e, ip) != r
    ]
    assert not bad, f"{len(bad)} of {len(ips)} differ, e.g. {bad[:3]}"


def test_single_equals_batch_bundled() -> None:
    e = default_enricher()
    ips = _addresses(e)
    assert len(ips) > 5000
    _assert_same(e, ips)


def _write_user_dbs(d: Path) -> None:
    mw = pytest.importorskip("mmdb_writer")
    from netaddr import IPSet

    def writer(kind: str) -> Any:
        return mw.MMDBWriter(
            ip_version=6, database_type=kind, ipv4_compatible=True, languages=["en"]
        )

    w = writer("GeoLite2-City")
    for net, city, cc, lat, lon in [
        ("8.8.8.0/24", "Mountain View", "US", 37.422, -122.084),
        ("81.2.69.0/24", None, "GB", 51.5142, -0.0931),
        ("10.1.0.0/16", "Nowhere", "XX", 1.0, 2.0),  # special-use space in a user file
        ("2001:480::/32", "San Diego", "US", 32.7203, -117.1552),
    ]:
        rec: dict[str, Any] = {
            "country": {"iso_code": cc, "names": {"en": cc}},
            "location": {"latitude": mw.MmdbF64(lat), "longitude": mw.MmdbF64(lon)},
        }
        if city:
            rec["city"] = {"geoname_id": mw.MmdbU32(1), "names": {"en": city}}
        w.insert_network(IPSet([net]), rec)
    w.to_db_file(str(d / "GeoLite2-City.mmdb"))
    w = writer("GeoLite2-ASN")
    for net, asn, org in [("8.8.8.0/24", 15169, "Google LLC"), ("1.0.0.0/24", 64500, "Test AS"),
                          ("2001:480::/32", 668, "DoD NIC")]:  # fmt: skip
        w.insert_network(
            IPSet([net]),
            {"autonomous_system_number": mw.MmdbU32(asn), "autonomous_system_organization": org},
        )
    w.to_db_file(str(d / "GeoLite2-ASN.mmdb"))
    w = writer("GeoIP2-Anonymous-IP")
    w.insert_network(
        IPSet(["1.2.3.0/24"]),
        {"is_anonymous": True, "is_anonymous_vpn": True, "is_hosting_provider": True},
    )
    w.insert_network(IPSet(["5.6.7.8/32"]), {"is_anonymous": True, "is_tor_exit_node": True})
    w.to_db_file(str(d / "GeoIP2-Anonymous-IP.mmdb"))
    w = writer("GeoIP2-Connection-Type")
    w.insert_network(IPSet(["9.0.0.0/8"]), {"connection_type": "Cellular"})
    w.insert_network(IPSet(["81.2.0.0/16"]), {"connection_type": "Corporate"})
    w.to_db_file(str(d / "GeoIP2-Connection-Type.mmdb"))


def test_single_equals_batch_with_user_databases(tmp_path: Path) -> None:
    pytest.importorskip("netaddr")
    _write_user_dbs(tmp_path)
    e = Enricher.load(tmp_path, cache_dir=tmp_path / "cache")
    assert len(e.user_dbs) == 4
    rng = random.Random(5)
    ips = _addresses(e, n4=500, n6=200, seed=5)
    ips += ["8.8.8.8", "8.8.8.255", "8.8.9.0", "81.2.69.160", "10.1.2.3", "1.0.0.1", "1.2.3.4",
            "5.6.7.8", "5.6.7.9", "9.1.1.1", "2001:480::1", "2001:481::1"]  # fmt: skip
    ips += [f"9.{rng.randrange(256)}.{rng.randrange(256)}.1" for _ in range(50)]
    ref = {ip: r for ip, r in zip(ips, _reference(e, ips), strict=True)}
    assert ref["9.1.1.1"]["net_type"] == "mobile" and "tor_exit" in ref["5.6.7.8"]["tags"]
    _assert_same(e, ips)


def test_fast_path_doc_equals_batch_doc(tmp_path: Path) -> None:
    from attrib.api.settings import ServiceSettings
    from attrib.api.state import ServiceState, ecs_doc

    st = ServiceState(ServiceSettings(keys_db=tmp_path / "k.db"))
    st.enricher = default_enricher()
    ips = _addresses(st.enricher, n4=1000, n6=300, seed=3)
    batch = st._enrich(ips)
    for ip, doc in zip(ips, batch, strict=True):
        rec = lookup_one(st.enricher, ip)
        if "error" in doc:
            assert rec["ip"] is None and rec["ip_error"] == doc["error"]
        else:
            assert ecs_doc(rec) == doc, ip


def test_api_single_equals_batch_on_many_addresses(server: Server) -> None:
    rng = random.Random(21)
    ips = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(150)]
    ips += [str(ipaddress.IPv6Address((0x2000 << 112) | rng.getrandbits(100))) for _ in range(50)]
    ips += [
        ip for ip in EDGE if ip.strip() and "%" not in ip and "/" not in ip and "\x00" not in ip
    ]
    with server.client() as c:
        items = c.post("/v1/enrich", json={"ips": ips}).json()["items"]
        for ip, item in zip(ips, items, strict=True):
            r = c.get(f"/v1/ip/{ip}")
            if "error" in item:
                assert r.status_code == 422 and item["error"] in r.json()["error"], ip
            else:
                assert r.status_code == 200 and r.json() == item, ip
        # cache hit after miss: same bytes
        first = c.get("/v1/ip/4.3.2.1").content
        assert c.get("/v1/ip/4.3.2.1").content == first
