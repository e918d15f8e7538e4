"""Network type per ASN from the learned model (attrib/enrich/nettype.py) and what ships."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from attrib._paths import default_data_dir
from attrib.enrich._nettype_features import LISTS, NUMERIC
from attrib.enrich._nettype_model import NetTypeModel
from attrib.enrich.nettype import (
    AMBIGUOUS_SHARE,
    MODEL_NAME,
    classify_asns,
    load_net_type_model,
    model_path,
)
from attrib.schema import NET_TYPES


def _ev(orgs: list[str], n_addr: list[int], asns: list[int] | None = None) -> pd.DataFrame:
    n = len(orgs)
    ev = pd.DataFrame({c: np.zeros(n) for c in NUMERIC})
    for c in LISTS:
        ev[c] = False
    ev["asn"] = asns or list(range(64500, 64500 + n))
    ev["org"] = pd.array(orgs, dtype="string")
    ev["whois_country"] = pd.array(["SE"] * n, dtype="string")
    ev["n_addr"], ev["n_cities"], ev["n_countries"] = n_addr, 3, 1
    ev["geo_outside_whois"] = 0.0
    return ev


def _fixed(probs: dict[str, float]) -> NetTypeModel:
    """A model that answers the same probabilities for every ASN."""
    classes = sorted(probs)
    k = len(classes)
    base = np.log([probs[c] for c in classes])
    return NetTypeModel(classes, [], [], np.zeros((k, 1)), np.zeros(k), base, [])


def test_unknown_only_without_evidence() -> None:
    m = _fixed({"hosting": 0.7, "residential": 0.3})
    out = classify_asns(_ev(["", "Acme", ""], [0, 0, 512]), m)
    assert out["net_type"].tolist() == ["unknown", "hosting", "hosting"]
    assert (
        out.loc[0, "net_type_confidence"] == 0.0
        and "no evidence" in out.loc[0, "net_type_evidence"]
    )
    assert out.loc[1, "net_type_confidence"] == 0.7
    assert "hosting 0.70, residential 0.30" in out.loc[2, "net_type_evidence"]
    assert "512 IPv4 addresses" in out.loc[2, "net_type_evidence"]


def test_known_cdn() -> None:
    out = classify_asns(
        _ev(["Cloudflare, Inc."], [256], [13335]), _fixed({"hosting": 0.6, "business": 0.4})
    )
    assert out.loc[0, "net_type"] == "cdn" and out.loc[0, "net_type_confidence"] == 0.95


@pytest.mark.parametrize(
    ("probs", "alt"),
    [
        ({"mobile": 0.5, "residential": 0.4, "hosting": 0.1}, "residential"),
        ({"residential": 0.8, "mobile": 0.8 * AMBIGUOUS_SHARE + 0.01, "hosting": 0.0}, "mobile"),
        ({"residential": 0.8, "mobile": 0.8 * AMBIGUOUS_SHARE - 0.02, "hosting": 0.02}, None),
        ({"residential": 0.5, "hosting": 0.4, "mobile": 0.1}, None),
    ],
)
def test_fixed_and_mobile_ambiguity(probs: dict[str, float], alt: str | None) -> None:
    probs = {k: max(v, 1e-9) for k, v in probs.items()}
    out = classify_asns(_ev(["Telco"], [1 << 20]), _fixed(probs))
    if alt is None:
        assert pd.isna(out.loc[0, "net_type_alt"])
        assert "residential|mobile" not in out.loc[0, "net_type_evidence"]
    else:
        assert out.loc[0, "net_type_alt"] == alt
        assert out.loc[0, "net_type_evidence"].startswith("residential|mobile")
        assert out.loc[0, "net_type"] in ("residential", "mobile")


def test_shipped_model_loads_verified() -> None:
    m = load_net_type_model()
    recorded = (model_path().parent / f"{MODEL_NAME}.sha256").read_text().split()[0]
    assert m.meta["sha256"] == recorded
    assert set(m.classes) <= set(NET_TYPES) - {"cdn", "unknown"}


def test_shipped_bundle_was_built_with_the_shipped_model() -> None:
    version = json.loads((default_data_dir() / "VERSION.json").read_text())
    assert version["net_type_model"]["file"] == MODEL_NAME
    assert version["net_type_model"]["sha256"] == load_net_type_model().meta["sha256"]


def test_shipped_answers_on_the_hand_checked_table() -> None:
    """Regression guard at the measured level (docs/net_type_eval.md), not the target."""
    from pathlib import Path

    hc = pd.read_csv(Path(__file__).parents[1] / "data" / "net_type_handchecked.csv")
    assert len(hc) >= 300 and hc["source"].str.len().min() > 10
    assert set(hc["expected"].str.split("|").sum()) <= set(NET_TYPES)
    info = pd.read_parquet(default_data_dir() / "enrich" / "asn_info.parquet")
    j = hc.merge(info, on="asn", how="left")
    ok = [
        p in e.split("|")
        for p, e in zip(j["net_type"].fillna("unknown"), j["expected"], strict=True)
    ]
    assert np.mean(ok) >= 0.75
    assert (j["net_type"].fillna("unknown") == "unknown").mean() <= 0.05


def test_national_access_network_says_both() -> None:
    ev = _ev(["Big Telco", "Small Telco"], [1 << 21, 1 << 21])
    ev["n_cities"], ev["top_country_share"] = [300, 20], 1.0
    out = classify_asns(ev, _fixed({"residential": 0.97, "mobile": 0.01, "hosting": 0.02}))
    assert out["net_type"].tolist() == ["residential", "residential"]
    assert out.loc[0, "net_type_alt"] == "mobile" and pd.isna(out.loc[1, "net_type_alt"])
    assert "national access network" in out.loc[0, "net_type_evidence"]
