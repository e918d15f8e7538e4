"""Fixtures: small MaxMind-shaped .mmdb files written with mmdb-writer."""

from __future__ import annotations

from pathlib import Path

import pytest
from mmdb_writer import MmdbF64, MmdbU32, MMDBWriter
from netaddr import IPSet

# (network, city record) — includes adjacent networks and an IPv4 /32, and IPv6 ranges
CITY_NETS: list[tuple[str, str | None, str, float, float]] = [
    ("1.0.0.0/24", "South Brisbane", "AU", -27.4767, 153.017),
    ("1.0.1.0/24", "Fuzhou", "CN", 26.0614, 119.3061),
    ("2.16.0.0/13", None, "FR", 48.8582, 2.3387),
    ("8.8.8.8/32", "Mountain View", "US", 37.422, -122.084),
    ("8.8.8.9/32", None, "US", 37.751, -97.822),
    ("81.2.69.0/24", "London", "GB", 51.5142, -0.0931),
    ("89.160.20.112/28", "Linköping", "SE", 58.4167, 15.6167),
    ("175.16.199.0/24", "Changchun", "CN", 43.88, 125.3228),
    ("2001:480::/32", "San Diego", "US", 32.7203, -117.1552),
    ("2a02:cf40::/29", None, "NO", 62.0, 10.0),
    ("2a02:d300::/29", "Kyiv", "UA", 50.4547, 30.5238),
]
ASN_NETS: list[tuple[str, int, str]] = [
    ("1.0.0.0/24", 13335, "Cloudflare, Inc."),
    ("1.128.0.0/11", 1221, "Telstra Pty Ltd"),
    ("8.8.8.0/24", 15169, "Google LLC"),
    ("81.2.69.0/25", 20712, "Andrews & Arnold Ltd"),
    ("81.2.69.128/26", 20712, "Andrews & Arnold Ltd"),
    ("2001:480::/32", 668, "DoD Network Information Center"),
    ("2a02:d300::/29", 15895, "Kyivstar PJSC"),
]


def city_record(city: str | None, cc: str, lat: float, lon: float) -> dict:
    rec: dict = {
        "country": {"iso_code": cc, "names": {"en": cc}},
        "location": {"latitude": MmdbF64(lat), "longitude": MmdbF64(lon), "accuracy_radius": 100},
    }
    if city is not None:
        rec["city"] = {"geoname_id": MmdbU32(1), "names": {"en": city, "de": city + "-de"}}
    return rec


def write_city(path: Path, nets=CITY_NETS, database_type: str = "GeoLite2-City") -> Path:
    w = MMDBWriter(
        ip_version=6, database_type=database_type, ipv4_compatible=True, languages=["en"]
    )
    for net, city, cc, lat, lon in nets:
        w.insert_network(IPSet([net]), city_record(city, cc, lat, lon))
    w.to_db_file(str(path))
    return path


def write_asn(path: Path, nets=ASN_NETS) -> Path:
    w = MMDBWriter(
        ip_version=6, database_type="GeoLite2-ASN", ipv4_compatible=True, languages=["en"]
    )
    for net, asn, org in nets:
        w.insert_network(
            IPSet([net]),
            {"autonomous_system_number": MmdbU32(asn), "autonomous_system_organization": org},
        )
    w.to_db_file(str(path))
    return path


@pytest.fixture(scope="session")
def geoip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("geoip")
    write_city(d / "GeoLite2-City.mmdb")
    write_asn(d / "GeoLite2-ASN.mmdb")
    return d


@pytest.fixture(scope="session")
def enricher(tmp_path_factory: pytest.TempPathFactory):
    from attrib.enrich import Enricher

    return Enricher.load(
        geoip_dir=tmp_path_factory.mktemp("nogeoip"), cache_dir=tmp_path_factory.mktemp("cache")
    )
