"""Output formats: Zeek conventions against real Zeek logs, and reading everything back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import attrib.io as aio
from attrib.context import OrgContext
from attrib.simulate import SimulationResult
from attrib.simulate._profiles import HELLOS, client_hello, ja4_of
from attrib.simulate._zeek_writer import CONN_FIELDS, SSL_FIELDS, ZeekWriter

pytestmark = pytest.mark.slow

SHARED = Path(__file__).resolve().parents[1] / "data" / "ref"
BASELINE = SHARED / "zeek-btest" / "Baseline"


def _header(path: Path) -> dict[str, str]:
    out = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            if line.startswith("#separator"):
                out["#separator"] = line.rstrip("\n")
                continue
            key, _, value = line.rstrip("\n").partition("\t")
            out[key] = value
    return out


def _real(log: str) -> Path:
    cands = sorted(BASELINE.glob(f"*/{log}"))
    if not cands:
        pytest.skip(f"no real Zeek {log} under {BASELINE}")
    # the newest layout: conn.log with ip_proto, ssl.log with sni_matches_cert
    want = "ip_proto" if log == "conn.log" else "sni_matches_cert"
    for c in cands:
        if want in _header(c).get("#fields", ""):
            return c
    return cands[0]


def test_zeek_tsv_headers_match_real_zeek(demo_a: SimulationResult) -> None:
    for log, fields in (("conn.log", CONN_FIELDS), ("ssl.log", SSL_FIELDS)):
        ours, real = _header(demo_a.paths[log.split(".")[0]]), _header(_real(log))
        for key in ("#separator", "#set_separator", "#empty_field", "#unset_field", "#path"):
            assert ours[key] == real[key], key
        real_types = dict(zip(real["#fields"].split("\t"), real["#types"].split("\t"), strict=True))
        our_types = dict(zip(ours["#fields"].split("\t"), ours["#types"].split("\t"), strict=True))
        common = [f for f in real_types if f in our_types]
        assert (
            len(common) >= len(real_types) - 1
        )  # all of Zeek's fields (ssl.log may differ by one)
        assert {f: our_types[f] for f in common} == {f: real_types[f] for f in common}
        assert [f for f in our_types if f in real_types] == common  # same order
        assert [n for n, _ in fields] == ours["#fields"].split("\t")
    text = demo_a.paths["conn"].read_text(encoding="utf-8").splitlines()
    assert text[5].startswith("#open\t") and text[-1].startswith("#close\t")
    rows = [r.split("\t") for r in text[8:-1]]
    assert all(len(r) == len(CONN_FIELDS) for r in rows)
    ts = [r[0] for r in rows]
    assert all(len(t.split(".")[1]) == 6 for t in ts)  # Zeek's time: six decimals
    assert {r[12] for r in rows} <= {"T", "F"}
    assert not any(v == "" for r in rows for v in r)  # empty strings are written as (empty)


def test_every_file_reads_back_without_skipped_rows(demo_a: SimulationResult) -> None:
    expect = {
        "conn": "conn_rows",
        "ssl": "ssl_rows",
        "signins": "signins",
        "audit": "mail_items_accessed",
        "pcap": "pcap_connections",
    }
    for key, count in expect.items():
        rep = aio.ReadReport()
        df = aio.read(demo_a.paths[key], report=rep)
        assert rep.skipped == 0, (key, rep.as_dict())
        assert rep.rows == demo_a.counts[count] > 0, key
        assert len(df) == rep.rows
    ev = aio.read(demo_a.paths["signins"])
    assert ev["src_ip"].notna().all() and ev["user"].notna().all()
    assert set(ev["outcome"].dropna().astype(str)) >= {"success", "failure"}
    assert ev["prov_asn"].notna().mean() > 0.95


def test_json_variant_and_relay_log_read_back(two_sided: SimulationResult) -> None:
    for key in ("conn", "ssl", "relay_conn"):
        path = two_sided.paths[key]
        first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
        assert "id.orig_h" in first and isinstance(first["ts"], float)
        rep = aio.ReadReport()
        aio.read(path, report=rep)
        assert rep.skipped == 0 and rep.rows > 0, key


def test_zeek_json_leaves_unset_fields_out(tmp_path: Path) -> None:
    w = ZeekWriter(tmp_path / "conn.json", "conn", CONN_FIELDS, "json", 0.0)
    w.write(pd.DataFrame({"ts": [1.5, 2.25], "uid": ["CabcdefghijklmnopQ", "CbcdefghijklmnopqR"],
                          "id.orig_h": ["192.0.2.1", "192.0.2.2"], "id.orig_p": [1, 2],
                          "id.resp_h": ["198.51.100.1"] * 2, "id.resp_p": [443, 22],
                          "proto": ["tcp", "tcp"], "duration": [np.nan, 0.25],
                          "local_orig": [False, True]}))  # fmt: skip
    w.close(3.0)
    lines = [json.loads(x) for x in (tmp_path / "conn.json").read_text().splitlines()]
    assert lines[0] == {"ts": 1.5, "uid": "CabcdefghijklmnopQ", "id.orig_h": "192.0.2.1",
                        "id.orig_p": 1, "id.resp_h": "198.51.100.1", "id.resp_p": 443,
                        "proto": "tcp", "local_orig": False}  # fmt: skip
    assert lines[1]["duration"] == 0.25 and lines[1]["local_orig"] is True


@pytest.mark.parametrize("name", sorted(HELLOS))
def test_client_hellos_parse_and_match_their_ja4(name: str) -> None:
    from attrib.io.tls import client_hellos, ja4

    rec = client_hello(name, "mail.example.com", bytes(range(64)))
    hellos = client_hellos(rec)
    assert len(hellos) == 1
    assert ja4(hellos[0]) == ja4_of(name)


def test_browser_ja4_are_the_published_ones() -> None:
    # FoxIO's published JA4 of Chrome and Safari (the cipher and extension hashes)
    assert ja4_of("chrome").startswith("t13d1516h2_8daaf6152771_")
    assert ja4_of("safari") == "t13d2014h2_a09f3c656075_14788d8d241b"


def test_org_toml_is_an_org_context(demo_a: SimulationResult) -> None:
    ctx = OrgContext.from_toml(demo_a.paths["org"])
    assert ctx.home_countries == (demo_a.params.victim_country,)
    assert ctx.accounts == demo_a.params.users
    assert len(ctx.offices) == demo_a.params.offices and len(ctx.services) == 3
    svc = pd.Series([str(s.network_address) for s in ctx.services])
    assert ctx.is_office(svc).all()  # the services sit in the head office's network


def test_truth_tables(demo_a: SimulationResult) -> None:
    t = pd.read_parquet(demo_a.paths["truth"])
    assert list(t.columns[:7]) == ["ip", "label", "kind", "campaign", "role", "first_active",
                                   "last_active"]  # fmt: skip
    assert t["ip"].is_unique
    assert set(t["label"]) == {"benign", "confounder", "adversary"}
    assert (t["last_active"] >= t["first_active"]).all()
    kinds = set(t["kind"])
    for k in (
        "home_broadband",
        "mobile_cgnat",
        "office",
        "corporate_vpn",
        "commercial_vpn",
        "private_relay",
        "scanner",
        "commodity_spray",
        "jump_host",
        "soho_router",
        "operator",
    ):
        assert k in kinds, k
    # the Private Relay egress is Apple's published relay space (tagged by enrichment)
    from attrib.enrich import default_enricher

    pr = t.loc[t["kind"] == "private_relay", "ip"]
    tags = default_enricher().lookup(pr.astype(str))["tags"].fillna("")
    assert tags.str.contains("private_relay").mean() >= 0.5
    doc = json.loads(demo_a.paths["truth_json"].read_text())
    assert doc["seed"] == 11 and len(doc["origins"]) == len(t)
    ch = pd.read_parquet(demo_a.paths["chains"])
    assert set(ch["hop"]) == {0, 1, 2}
    assert ch.groupby("attempt").size().eq(3).all()
    hop2 = ch[ch["hop"] == 2]
    exits = set(t.loc[t["role"] == "exit", "ip"])
    assert set(hop2["relay"]) <= exits
    # every origin seen in the logs is labelled
    seen = set(aio.read(demo_a.paths["signins"])["src_ip"].astype(str))
    seen |= set(aio.read(demo_a.paths["conn"])["src_ip"].astype(str))
    assert seen <= set(t["ip"])
