"""Per-ASN network-type evidence from segment tables (attrib/enrich/_nettype_features.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attrib.enrich._nettype_features import (
    LISTS,
    NUMERIC,
    asn_evidence,
    hosting_flag,
    list_memberships,
    with_siblings,
)


def _seg(starts: list[int], values: list[int]) -> tuple[np.ndarray, np.ndarray]:
    return np.array(starts, dtype=np.uint32), np.array(values, dtype=np.int32)


@pytest.fixture
def evidence() -> pd.DataFrame:
    # AS 100: 10.0.0.0/23 in two blocks (a /24 each, split by AS 200's /24 between them)
    # AS 200: 10.0.1.0/24 ; AS 300: no IPv4 space
    a = 10 << 24
    orgs = pd.DataFrame({"asn": [100, 200, 300], "org": ["Alpha", "Beta", "Gamma"]})
    asn4 = _seg([0, a, a + 256, a + 512, a + 768], [-1, 0, 1, 0, -1])
    # cities: first /24 of AS100 half Paris/half Lyon, its second /24 in Berlin; AS200 Paris
    city4 = _seg([0, a, a + 128, a + 256, a + 512, a + 768], [-1, 0, 1, 0, 2, -1])
    locs = pd.DataFrame(
        {"city": ["Paris", "Lyon", "Berlin"], "country": ["FR", "FR", "DE"],
         "lat": [48.85, 45.76, 52.52], "lon": [2.35, 4.83, 13.40]}
    )  # fmt: skip
    whois4 = _seg([0, a, a + 1024], [-1, 0, -1])  # everything registered in FR
    tags4 = _seg([0, a + 512, a + 768], [-1, 0, -1])  # AS100's second block is cloud
    v6 = np.array([-1, 2, 2, 0], dtype=np.int32)
    lists = {"in_datacenter_list": {200}, "in_vpn_list": set(), "in_bad_asn_list": {300}}
    return asn_evidence(
        orgs, asn4, city4, locs, whois4, np.array(["FR"], dtype=object), tags4,
        np.array(["cloud,cloud:amazon"], dtype=object), v6, lists,
    )  # fmt: skip


def test_columns(evidence: pd.DataFrame) -> None:
    for c in ("asn", "org", "n_addr", "whois_country", *NUMERIC, *LISTS):
        assert c in evidence.columns, c


def test_size_and_spread(evidence: pd.DataFrame) -> None:
    e = evidence.set_index("asn")
    assert e.loc[100, "n_addr"] == 512 and e.loc[200, "n_addr"] == 256 and e.loc[300, "n_addr"] == 0
    assert e.loc[100, "log2_blocks"] == 1.0  # two blocks
    assert e.loc[100, "n_cities"] == 3 and e.loc[100, "n_countries"] == 2
    assert e.loc[200, "n_cities"] == 1
    assert e.loc[100, "cities_per_24"] == pytest.approx(1.5)
    assert e.loc[100, "top_country_share"] == pytest.approx(0.5)
    # the Berlin block is registered in FR: half the space geolocates abroad
    assert e.loc[100, "geo_outside_whois"] == pytest.approx(0.5)
    assert e.loc[200, "geo_outside_whois"] == 0.0
    assert e.loc[100, "whois_country"] == "FR"
    assert pd.isna(e.loc[300, "geo_outside_whois"]) and pd.isna(e.loc[300, "max_block_share"])


def test_dispersion(evidence: pd.DataFrame) -> None:
    e = evidence.set_index("asn")
    # AS200: one city -> no spread; AS100: Paris/Lyon/Berlin, a few hundred km from its centroid
    assert e.loc[200, "spread_km"] == pytest.approx(0.0, abs=1e-6)
    assert e.loc[200, "far_share"] == 0.0 and e.loc[200, "top_city_share"] == 1.0
    assert 250 < e.loc[100, "spread_km"] < 600
    assert e.loc[100, "top_city_share"] == pytest.approx(0.5)  # Berlin holds half
    assert e.loc[100, "log2_mean_block"] == pytest.approx(8.0)  # 512 addresses in 2 blocks
    assert pd.isna(e.loc[300, "spread_km"]) and pd.isna(e.loc[300, "top_city_share"])


def test_dispersion_far_share() -> None:
    # one /24 split between Paris and Tokyo: both halves are far from the centroid
    orgs = pd.DataFrame({"asn": [100], "org": ["Far"]})
    locs = pd.DataFrame({"city": ["Paris", "Tokyo"], "country": ["FR", "JP"],
                         "lat": [48.85, 35.68], "lon": [2.35, 139.69]})  # fmt: skip
    e = asn_evidence(
        orgs, _seg([0, 256, 512], [-1, 0, -1]), _seg([0, 256, 384, 512], [-1, 0, 1, -1]), locs,
        _seg([0], [0]), np.array(["FR"], dtype=object), _seg([0], [-1]), np.array([], dtype=object),
        np.array([], dtype=np.int32), {},
    )  # fmt: skip
    assert e.loc[0, "far_share"] == 1.0 and e.loc[0, "spread_km"] > 4000


def test_ranges_lists_and_v6(evidence: pd.DataFrame) -> None:
    e = evidence.set_index("asn")
    assert e.loc[100, "frac_cloud"] == pytest.approx(0.5) and e.loc[200, "frac_cloud"] == 0.0
    assert e.loc[100, "frac_dcrange"] == 0.0
    assert bool(e.loc[200, "in_datacenter_list"]) and not bool(e.loc[100, "in_datacenter_list"])
    assert bool(e.loc[300, "in_bad_asn_list"])
    assert e.loc[300, "log2_v6_segments"] == pytest.approx(np.log2(3))
    assert e.loc[200, "log2_v6_segments"] == 0.0


def test_siblings_count_the_other_asns_of_a_name() -> None:
    ev = pd.DataFrame({
        "asn": [1, 2, 3, 4, 5, 6],
        "org": ["Acme Cloud, Inc.", "ACME CLOUD INC", "acme cloud inc", "Other", "", None],
        "in_datacenter_list": [True, True, False, False, True, True],
        "in_vpn_list": False, "in_bad_asn_list": False,
        "frac_cloud": [0.0, 0.0, 0.6, 0.0, 0.0, 0.0], "frac_dcrange": 0.0,
    })  # fmt: skip
    assert hosting_flag(ev).tolist() == [True, True, True, False, True, True]
    out = with_siblings(ev)
    # case and punctuation aside the first three share a name: two others each
    assert out["sib_n"].tolist()[:4] == [pytest.approx(np.log2(3))] * 3 + [0.0]
    assert out["sib_host"].tolist()[:4] == [1.0, 1.0, 1.0, 0.0]
    # nameless ASNs are nobody's siblings
    assert out["sib_n"].tolist()[4:] == [0.0, 0.0] and out["sib_host"].tolist()[4:] == [0.0, 0.0]
    assert "sib_n" not in ev.columns  # the input is not modified


def test_sibling_share_excludes_the_asn_itself() -> None:
    ev = pd.DataFrame({
        "asn": [1, 2, 3], "org": ["Beta Net", "Beta Net", "Beta Net"],
        "in_datacenter_list": [True, False, False], "in_vpn_list": False,
        "in_bad_asn_list": False, "frac_cloud": 0.0, "frac_dcrange": [0.0, 0.0, np.nan],
    })  # fmt: skip
    out = with_siblings(ev)
    # the listed ASN's own flag never counts: its two siblings are unlisted
    assert out["sib_host"].tolist() == [0.0, 0.5, 0.5]


def test_evidence_has_siblings(evidence: pd.DataFrame) -> None:
    assert (evidence["sib_n"] == 0.0).all() and (evidence["sib_host"] == 0.0).all()


def test_list_memberships_reads_snapshots(tmp_path: Path) -> None:
    xb = tmp_path / "x4bnet-lists_vpn"
    xb.mkdir()
    (xb / "datacenter_ASN.txt").write_text("AS123 # some host\n456\n# comment\n")
    (xb / "vpn_ASN.txt").write_text("AS9009 # M247\n")
    bad = tmp_path / "bad-asn-list"
    bad.mkdir()
    (bad / "bad-asn-list.csv").write_text('ASN,Entity\n777,"X, NL"\n 778, "Y"\nnope,z\n')
    m = list_memberships(tmp_path)
    assert m == {"in_datacenter_list": {123, 456}, "in_vpn_list": {9009},
                 "in_bad_asn_list": {777, 778}}  # fmt: skip


def test_missing_snapshots_are_empty(tmp_path: Path) -> None:
    assert list_memberships(tmp_path) == {
        "in_datacenter_list": set(), "in_vpn_list": set(), "in_bad_asn_list": set()
    }  # fmt: skip
