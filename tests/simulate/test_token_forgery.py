"""The token_forgery preset: forged/stolen-token mail access, its confounders, its truth."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

import attrib
from attrib.context import OrgContext
from attrib.enrich import default_enricher
from attrib.features import build_origins
from attrib.io import ReadReport
from attrib.simulate import SimulationResult, simulate

SMALL = {"users": 60, "days": 8}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    return simulate("token_forgery", 3, tmp_path_factory.mktemp("tf"), **SMALL)


@pytest.fixture(scope="module")
def events(scenario: SimulationResult) -> pd.DataFrame:
    rep = ReadReport()
    ev = attrib.read([scenario.paths["signins"], scenario.paths["audit"]], report=rep)
    assert rep.skipped == 0
    return ev


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*.json")):
        h.update(p.read_bytes())
    return h.hexdigest()


def test_files_and_paths(scenario):
    assert set(scenario.paths) >= {"signins", "audit", "org", "truth", "truth_json", "chains"}
    assert "conn" not in scenario.paths
    for key in ("signins", "audit", "org", "truth"):
        assert scenario.paths[key].is_file(), key
    assert scenario.counts["adversary_mail"] > 0 and scenario.counts["targets"] == 4


def test_same_seed_same_bytes(scenario, tmp_path):
    again = simulate("token_forgery", 3, tmp_path, **SMALL)
    assert _digest(again.out) == _digest(scenario.out)


def test_records_carry_the_token_fields(events):
    sig = events[events["event_type"] != "MailItemsAccessed"]
    mail = events[events["event_type"] == "MailItemsAccessed"]
    assert set(sig["signin_kind"].dropna()) == {
        "interactive", "non_interactive", "service_principal",
    }  # fmt: skip
    assert sig["token_id"].notna().all()
    assert sig.loc[sig["signin_kind"] != "service_principal", "session_id"].notna().all()
    assert set(mail["access_type"]) == {"Bind", "Sync"}
    assert mail["mailbox"].notna().all() and mail["app_id"].notna().all()
    bind = mail[mail["access_type"] == "Bind"]
    assert (bind["item_count"] == bind["op_count"]).all()
    assert mail["src_port"].notna().all()


def test_truth_kinds_and_no_signins_from_exits(scenario, events):
    t = pd.read_parquet(scenario.paths["truth"])
    kinds = set(t["kind"])
    assert {"vps", "residential_proxy"} & kinds
    assert {"client_rollout", "crm_connector", "mobile_cgnat", "back_from_leave"} <= kinds
    exits = set(t.loc[t["label"] == "adversary", "ip"])
    assert len(exits) == 6 and (t.loc[t["label"] == "adversary", "role"] == "exit").all()
    sig = events[events["event_type"] != "MailItemsAccessed"]
    assert not set(sig["src_ip"]) & exits
    seen = set(events["src_ip"].dropna())
    assert set(t["ip"]) <= seen  # every labelled origin appears in the logs


def test_evidence_separates_the_actor_from_its_confounders(scenario, events):
    ctx = OrgContext.from_toml(scenario.paths["org"])
    t = pd.read_parquet(scenario.paths["truth"]).set_index("ip")
    o = build_origins(events, context=ctx, enricher=default_enricher())
    o = o.set_index(o["ip"].astype(str)).join(t[["label", "kind"]])
    adv = o.loc[o["label"] == "adversary", "token_abuse_score"]
    rest = o.loc[o["label"] != "adversary", "token_abuse_score"].fillna(0)
    assert adv.min() > rest.max()
