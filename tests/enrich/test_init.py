"""Enrichment from the bundled data: alignment, columns, tags, network types, sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import attrib
from attrib.enrich import Enricher, enrich, sample_ips
from attrib.errors import DataError
from attrib.schema import ENRICH_COLUMNS, ENRICH_ECS_FIELDS, NET_TYPES


def test_lookup_is_aligned_and_typed(enricher: Enricher) -> None:
    ips = ["8.8.8.8", "bogus", None, "8.8.8.8:53", "2001:4860:4860::8888", "8.8.8.8"]
    r = enricher.lookup(pd.Series(ips, index=[10, 11, 12, 13, 14, 15]))
    assert list(r.columns) == ["ip", "ip_error", *ENRICH_COLUMNS]
    assert len(r) == len(ips) and list(r.index) == list(range(len(ips)))
    for c, t in ENRICH_COLUMNS.items():
        assert r[c].dtype == pd.api.types.pandas_dtype(t), c
    assert r["ip"].tolist()[0] == "8.8.8.8" and r.loc[3, "ip"] == "8.8.8.8"
    assert r.loc[1, "ip_error"] == "not an IP address" and r.loc[2, "ip_error"] == "empty"
    assert r.loc[0, "asn"] == 15169 and r.loc[4, "asn"] == 15169
    assert r.loc[0, "country"] == "US" and r.loc[0, "net_type"] in ("hosting", "cdn")
    assert "cloud:google" in r.loc[0, "tags"]
    assert pd.isna(r.loc[1, "asn"]) and pd.isna(r.loc[1, "net_type_confidence"])


def test_known_networks(enricher: Enricher) -> None:
    r = enricher.lookup(
        [
            "73.22.11.5",
            "1.1.1.1",
            "3.5.140.2",
            "10.1.2.3",
            "100.64.0.1",
            "192.0.2.1",
            "127.0.0.1",
            "224.0.0.1",
            "2002:c000:0204::1",
            "2001:0:4136:e378::1",
        ]
    ).set_index("ip")
    assert r.loc["73.22.11.5", "asn"] == 7922 and r.loc["73.22.11.5", "net_type"] == "residential"
    assert "geolocate" in r.loc["73.22.11.5", "net_type_evidence"]
    assert r.loc["1.1.1.1", "net_type"] == "cdn"
    assert (
        r.loc["3.5.140.2", "net_type"] == "hosting" and "cloud:amazon" in r.loc["3.5.140.2", "tags"]
    )
    assert r.loc["10.1.2.3", "tags"] == "private" and r.loc["10.1.2.3", "net_type"] == "unknown"
    assert r.loc["100.64.0.1", "tags"] == "cgnat"
    assert r.loc["192.0.2.1", "tags"] == "documentation"
    assert r.loc["127.0.0.1", "tags"] == "loopback"
    assert r.loc["224.0.0.1", "tags"] == "multicast"
    assert "6to4" in r.loc["2002:c000:204::1", "tags"]
    assert "teredo" in r.loc["2001:0:4136:e378::1", "tags"]


def test_ipv6_city(enricher: Enricher) -> None:
    r = enricher.lookup(["2a02:8108::1"]).iloc[0]
    assert r["country"] == "DE" and pd.notna(r["city"]) and pd.notna(r["lat"])


def test_confounder_tags(enricher: Enricher) -> None:
    from pathlib import Path

    nl = Path("/work/shared/data/netlists")
    relay = "172.224.226.1"
    tor = "185.220.101.1"
    if nl.exists():  # take real members of the snapshots when available
        relay = (
            (nl / "lord-alfred-ipranges/apple-proxy_ipv4.txt").read_text().split()[0].split("/")[0]
        )
        tor = (nl / "tor/tor-exit-nodes.lst").read_text().split()[0]
    r = enricher.lookup([relay, tor])
    assert "private_relay" in r.loc[0, "tags"].split(",")
    assert "tor_exit" in r.loc[1, "tags"].split(",")


def test_enrich_public_api_ecs_names() -> None:
    out = attrib.enrich(["8.8.8.8", "nope"])
    for c in (
        "source.ip",
        "source.as.number",
        "source.as.organization.name",
        "source.geo.country_iso_code",
        "source.geo.city_name",
        "source.geo.location.lat",
        "source.geo.location.lon",
        "attrib.net_type",
        "attrib.net_type_confidence",
        "attrib.tags",
    ):
        assert c in out.columns
    assert out.loc[0, "source.as.number"] == 15169
    df = pd.DataFrame({"src_ip": ["1.1.1.1", "8.8.4.4"], "n": [1, 2]}, index=[7, 9])
    out = enrich(df)
    assert list(out.index) == [7, 9] and out.loc[7, "n"] == 1
    assert out.loc[9, ENRICH_ECS_FIELDS["asn"]] == 15169
    raw = enrich(df, ecs=False)
    assert "asn" in raw.columns and "net_type" in raw.columns
    with pytest.raises(DataError):
        enrich(pd.DataFrame({"x": [1]}))


@pytest.mark.parametrize(
    ("country", "net_type", "family"),
    [("DE", "residential", 4), ("US", "hosting", 4), (None, "mobile", 6), ("JP", None, 4)],
)
def test_sample_ips_matches_filters(
    enricher: Enricher, country: str | None, net_type: str | None, family: int
) -> None:
    s = sample_ips(
        25,
        rng=np.random.default_rng(7),
        country=country,
        net_type=net_type,
        family=family,
        enricher=enricher,
    )
    assert len(s) == 25 and s["ip"].is_unique
    assert list(s.columns) == ["ip", *ENRICH_COLUMNS]
    if country:
        assert (s["country"] == country).all()
    if net_type:
        assert (s["net_type"] == net_type).all()
    assert s["asn"].notna().all()
    # the rows are what a lookup says about these addresses
    again = enricher.lookup(s["ip"])
    pd.testing.assert_frame_equal(again.drop(columns="ip_error"), s)
    # reproducible
    s2 = sample_ips(
        25,
        rng=np.random.default_rng(7),
        country=country,
        net_type=net_type,
        family=family,
        enricher=enricher,
    )
    assert s2["ip"].tolist() == s["ip"].tolist()


def test_sample_ips_by_asn_and_errors(enricher: Enricher) -> None:
    s = sample_ips(5, rng=np.random.default_rng(1), asn=[7922, 3320], enricher=enricher)
    assert set(s["asn"]) <= {7922, 3320}
    with pytest.raises(DataError):
        sample_ips(5, rng=np.random.default_rng(1), net_type="nonsense", enricher=enricher)
    with pytest.raises(DataError):
        sample_ips(
            5, rng=np.random.default_rng(1), country="ZZ", net_type="mobile", enricher=enricher
        )


def test_net_types_are_known(enricher: Enricher) -> None:
    assert set(enricher.bundle.asn_info["net_type"].unique()) <= set(NET_TYPES)


def test_info_reports_sources_and_licences(enricher: Enricher) -> None:
    info = enricher.info()
    b = info["bundle"]
    assert b["built"] and b["age_days"] is not None
    assert "DB-IP" in b["attribution"] and "CC-BY-4.0" in b["licences"]["city"]
    assert b["upstreams"]["asn"]["package"] == "@ip-location-db/asn"
    assert info["version"] == enricher.version


def test_lookup_accepts_any_sequence(enricher: Enricher) -> None:
    import ipaddress

    vals = [ipaddress.ip_address("8.8.8.8"), 5, None, float("nan"), "8.8.8.8", b"1.1.1.1", ["x"]]
    r = enricher.lookup(vals)
    assert len(r) == len(vals)
    assert r.loc[0, "ip"] == "8.8.8.8" and r.loc[4, "ip"] == "8.8.8.8"
    assert r["ip_error"].notna().tolist() == [False, True, True, True, False, True, True]
    arr = enricher.lookup(np.array(["1.1.1.1", "1.1.1.1"], dtype=object))
    assert arr["asn"].tolist() == [13335, 13335]
    s = enricher.lookup(pd.Series(["1.1.1.1", None], dtype="string[pyarrow]"))
    assert s.loc[0, "asn"] == 13335 and s.loc[1, "ip_error"] == "empty"
    assert len(enricher.lookup([])) == 0


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.ip_addresses().map(str), st.text(max_size=30), st.none()), max_size=30)
)
def test_lookup_never_crashes_and_is_consistent(enricher: Enricher, values: list) -> None:
    r = enricher.lookup(values)
    assert len(r) == len(values)
    assert (r["ip"].isna() ^ r["ip_error"].isna()).all()
    # per-row answers do not depend on the batch
    for i in range(min(3, len(values))):
        one = enricher.lookup([values[i]]).iloc[0]
        pd.testing.assert_series_equal(one, r.iloc[i], check_names=False)


def test_public_function_and_stage_package_share_the_name_without_a_module_swap():
    import importlib
    import types

    import attrib
    import attrib.enrich  # noqa: F401  (importing the package must not shadow the function)

    assert isinstance(attrib.enrich, types.FunctionType)
    pkg = importlib.import_module("attrib.enrich")
    assert type(pkg) is types.ModuleType  # a plain module: no class swap
    assert pkg.Enricher.__module__ == "attrib.enrich.enricher"
    out = attrib.enrich(["8.8.8.8", "not an ip"])
    assert out["source.ip"].tolist()[0] == "8.8.8.8" and out["source.ip"].isna().tolist()[1]
