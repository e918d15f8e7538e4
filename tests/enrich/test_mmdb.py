"""The vectorised path answers exactly what geoip2 answers, address by address."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import geoip2.database
import geoip2.errors
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attrib.enrich import Enricher
from attrib.enrich._mmdb import compile_mmdb
from attrib.errors import DataError

from .conftest import ASN_NETS, CITY_NETS, write_asn, write_city


def _boundaries() -> list[str]:
    out = []
    for net in [n for n, *_ in CITY_NETS] + [n for n, *_ in ASN_NETS]:
        nw = ipaddress.ip_network(net)
        top = (1 << nw.max_prefixlen) - 1
        for x in (
            int(nw.network_address) - 1,
            int(nw.network_address),
            int(nw.broadcast_address),
            int(nw.broadcast_address) + 1,
        ):
            if 0 <= x <= top:
                out.append(
                    str(ipaddress.ip_address(x) if nw.version == 4 else ipaddress.IPv6Address(x))
                )
    return out


BOUNDARIES = _boundaries()
_ALIASES = [ipaddress.ip_network(n) for n in ("::/96", "::ffff:0:0/96", "2001::/32", "2002::/16")]
addresses = st.one_of(
    st.sampled_from(BOUNDARIES),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).filter(lambda a: not any(a in n for n in _ALIASES)).map(str),
    st.sampled_from([n for n, *_ in CITY_NETS]).flatmap(
        lambda n: st.integers(0, ipaddress.ip_network(n).num_addresses - 1).map(
            lambda o, n=n: str(ipaddress.ip_network(n)[o])
        )
    ),
)


def _reference(city: geoip2.database.Reader, asn: geoip2.database.Reader, ip: str) -> tuple:
    try:
        c = city.city(ip)
        geo = (c.country.iso_code, c.city.name, c.location.latitude, c.location.longitude)
    except geoip2.errors.AddressNotFoundError:
        geo = (None, None, None, None)
    try:
        a = asn.asn(ip)
        as_ = (a.autonomous_system_number, a.autonomous_system_organization)
    except geoip2.errors.AddressNotFoundError:
        as_ = (None, None)
    return as_ + geo


def _ours(row: pd.Series) -> tuple:
    return tuple(
        None if pd.isna(row[c]) else row[c]
        for c in ("asn", "as_org", "country", "city", "lat", "lon")
    )


@pytest.fixture(scope="module")
def user_only(geoip_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Enricher:
    return Enricher.load(geoip_dir, bundled=False, cache_dir=tmp_path_factory.mktemp("c"))


@settings(max_examples=150, deadline=None)
@given(st.lists(addresses, min_size=1, max_size=40))
def test_vectorised_equals_geoip2_per_address(
    user_only: Enricher, geoip_dir: Path, ips: list[str]
) -> None:
    res = user_only.lookup(ips)
    with (
        geoip2.database.Reader(str(geoip_dir / "GeoLite2-City.mmdb")) as city,
        geoip2.database.Reader(str(geoip_dir / "GeoLite2-ASN.mmdb")) as asn,
    ):
        for ip, (_, row) in zip(ips, res.iterrows(), strict=True):
            assert _ours(row) == _reference(city, asn, ip), ip


def test_every_boundary(user_only: Enricher, geoip_dir: Path) -> None:
    res = user_only.lookup(BOUNDARIES)
    with (
        geoip2.database.Reader(str(geoip_dir / "GeoLite2-City.mmdb")) as city,
        geoip2.database.Reader(str(geoip_dir / "GeoLite2-ASN.mmdb")) as asn,
    ):
        found = 0
        for ip, (_, row) in zip(BOUNDARIES, res.iterrows(), strict=True):
            ref = _reference(city, asn, ip)
            assert _ours(row) == ref, ip
            found += ref[2] is not None
        assert found > len(CITY_NETS)  # the check is not vacuous


def test_cache_is_keyed_by_content(tmp_path: Path) -> None:
    db = write_asn(tmp_path / "a.mmdb")
    cache = tmp_path / "cache"
    t1 = compile_mmdb(db, cache)
    assert len(list(cache.iterdir())) == 1
    t2 = compile_mmdb(db, cache)  # from cache
    assert t2.records.equals(t1.records) and (t2.index.v4_starts == t1.index.v4_starts).all()
    write_asn(db, [("9.9.9.0/24", 19281, "Quad9")])  # new content -> new entry
    t3 = compile_mmdb(db, cache)
    assert len(list(cache.iterdir())) == 2 and t3.records["asn"].tolist() == [19281]


def test_user_db_takes_precedence_over_bundle(geoip_dir: Path, tmp_path: Path) -> None:
    e = Enricher.load(geoip_dir, cache_dir=tmp_path)
    r = e.lookup(["81.2.69.142", "89.160.20.120", "9.9.9.9"])
    assert r.loc[0, "city"] == "London" and r.loc[0, "asn"] == 20712
    assert r.loc[1, "city"] == "Linköping" and r.loc[1, "lat"] == 58.4167
    # not in the user databases: answered from the bundle
    assert r.loc[2, "asn"] == 19281 and r.loc[2, "country"] is not pd.NA


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a database at all" * 100,
        b"\x00" * 5000,
        b"\xab\xcd\xefMaxMind.com" + b"\x00" * 64,
    ],
)
def test_corrupt_or_foreign_mmdb_is_one_line_data_error(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "bad.mmdb"
    p.write_bytes(content)
    with pytest.raises(DataError) as ei:
        Enricher.load(tmp_path, bundled=False, cache_dir=tmp_path / "c")
    assert "bad.mmdb" in str(ei.value) and "\n" not in str(ei.value)


def test_truncated_mmdb_is_data_error(tmp_path: Path) -> None:
    good = write_city(tmp_path / "city.mmdb").read_bytes()
    p = tmp_path / "x" / "trunc.mmdb"
    p.parent.mkdir()
    p.write_bytes(good[: len(good) // 3] + good[-200:])
    with pytest.raises(DataError) as ei:
        Enricher.load(p.parent, bundled=False, cache_dir=tmp_path / "c")
    assert "\n" not in str(ei.value)


def test_db_without_known_fields_is_rejected(tmp_path: Path) -> None:
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    w = MMDBWriter(ip_version=4, database_type="Foo-Bar")
    w.insert_network(IPSet(["1.0.0.0/8"]), {"colour": "blue"})
    w.to_db_file(str(tmp_path / "foo.mmdb"))
    with pytest.raises(DataError, match="without any field"):
        Enricher.load(tmp_path, bundled=False, cache_dir=tmp_path / "c")


def test_anonymous_ip_and_connection_type(tmp_path: Path) -> None:
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    w = MMDBWriter(ip_version=6, database_type="GeoIP2-Anonymous-IP", ipv4_compatible=True)
    w.insert_network(
        IPSet(["1.2.3.0/24"]),
        {"is_anonymous": True, "is_anonymous_vpn": True, "is_hosting_provider": True},
    )
    w.insert_network(IPSet(["5.6.7.8/32"]), {"is_anonymous": True, "is_tor_exit_node": True})
    w.to_db_file(str(tmp_path / "GeoIP2-Anonymous-IP.mmdb"))
    w = MMDBWriter(ip_version=6, database_type="GeoIP2-Connection-Type", ipv4_compatible=True)
    w.insert_network(IPSet(["9.0.0.0/8"]), {"connection_type": "Cellular"})
    w.to_db_file(str(tmp_path / "GeoIP2-Connection-Type.mmdb"))
    e = Enricher.load(tmp_path, cache_dir=tmp_path / "c")
    r = e.lookup(["1.2.3.4", "5.6.7.8", "9.1.1.1"])
    assert {"vpn", "datacenter"} <= set(r.loc[0, "tags"].split(","))
    assert (
        r.loc[0, "net_type"] == "hosting" and "is_hosting_provider" in r.loc[0, "net_type_evidence"]
    )
    assert "tor_exit" in r.loc[1, "tags"].split(",")
    assert r.loc[2, "net_type"] == "mobile" and "Cellular" in r.loc[2, "net_type_evidence"]
    kinds = {d["kind"] for d in e.info()["user_databases"]}
    assert kinds == {"anonymous-ip", "connection-type"}
