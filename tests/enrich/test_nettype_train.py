"""Weak labels, blinding and fitting of the network-type model (_nettype_train.py)."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

from attrib.enrich._nettype_features import LISTS, NUMERIC
from attrib.enrich._nettype_train import (
    blind,
    broadband_shape,
    fit_model,
    source_members,
    weak_labels,
)


def _ev(orgs: list[str], **cols: list[object]) -> pd.DataFrame:
    n = len(orgs)
    ev = pd.DataFrame({c: np.zeros(n) for c in NUMERIC})
    for c in LISTS:
        ev[c] = False
    ev["asn"] = np.arange(n) + 64500
    ev["org"] = pd.array(orgs, dtype="string")
    ev["whois_country"] = pd.array(["SE"] * n, dtype="string")
    ev["n_addr"], ev["n_cities"], ev["n_countries"] = 256, 1, 1
    ev["top_country_share"], ev["geo_outside_whois"] = 1.0, 0.0
    for k, v in cols.items():
        ev[k] = v
    return ev


def test_weak_labels_from_seeds_sources_and_shape() -> None:
    ev = _ev(
        ["Foo University", "Acme Broadband", "Zap Mobile Telecom", "Bank of X Broadband",
         "Host Co", "Cloud Co", "Big Access AB", "Anycast Edge", "Nothing AB"],
        in_datacenter_list=[False, False, False, False, True, False, False, False, False],
        frac_cloud=[0, 0, 0, 0, 0, 0.9, 0, 0, 0],
        n_addr=[256] * 6 + [1 << 21, 256, 256],
        n_cities=[1] * 6 + [300, 1, 1],
    )  # fmt: skip
    y = weak_labels(ev, frozenset({64507}))
    assert y.tolist()[:7] == ["education", "residential", "mobile", pd.NA, "hosting", "hosting",
                              "residential"]  # fmt: skip
    assert y[7] == "hosting"  # CDN networks train as hosting
    assert pd.isna(y[8])
    # leaving a source out drops the labels only it gave
    y2 = weak_labels(ev, frozenset(), skip_sources=("published cloud ranges",))
    assert pd.isna(y2[5]) and y2[4] == "hosting"


def test_seeds_in_several_languages() -> None:
    ev = _ev(["Uniwersytet Przykladowy", "Exempel Stadsnaet AB", "PT Contoh Selular",
              "Magistrat der Stadt Beispiel", "Beispiel Chemie AG", "Exempel Hogskola",
              "Compania Movil SA", "Ejemplo 4G Wireless"])  # fmt: skip
    y = weak_labels(ev, frozenset())
    assert y.tolist() == ["education", "residential", "mobile", "government", "business",
                          "education", "mobile", "mobile"]  # fmt: skip


def test_source_members_and_broadband_shape() -> None:
    ev = _ev(["a", "b", "c"], frac_dcrange=[0.6, 0.4, 0.0], in_bad_asn_list=[False, False, True],
             n_addr=[1 << 20, 1 << 20, 1 << 19], n_cities=[150, 150, 150],
             top_country_share=[1.0, 0.5, 1.0])  # fmt: skip
    assert source_members(ev, "X4BNet datacenter ranges").tolist() == [True, False, False]
    assert source_members(ev, "bad-asn-list").tolist() == [False, False, True]
    assert broadband_shape(ev).tolist() == [True, False, False]


def test_blind_hides_sources_and_cuts_seeds() -> None:
    ev = _ev(["Acme Broadband Networks"], in_datacenter_list=[True], frac_cloud=[0.8])
    b = blind(ev)
    assert not bool(b.loc[0, "in_datacenter_list"]) and b.loc[0, "frac_cloud"] == 0.0
    assert "broadband" not in b.loc[0, "org"].lower() and "Networks" in b.loc[0, "org"]
    assert bool(ev.loc[0, "in_datacenter_list"])  # the input is not modified


def test_blind_hides_the_siblings_hosting_share() -> None:
    ev = _ev(["Acme"], sib_host=[1.0], sib_n=[2.0])
    b = blind(ev)
    assert b.loc[0, "sib_host"] == 0.0 and b.loc[0, "sib_n"] == 2.0


def test_a_hidden_source_does_not_speak_through_siblings(monkeypatch: pytest.MonkeyPatch) -> None:
    # two ASNs of one name; only the datacenter ranges name the first. Hiding that source
    # must also clear the second's sibling share, or the held-out source leaks into training.
    ev = _ev(["Acme Cloud", "Acme Cloud"] * 20, frac_dcrange=[0.9, 0.0] * 20)
    ev["sib_host"], ev["sib_n"] = [0.0, 1.0] * 20, 1.0
    y = pd.Series(["hosting", "residential"] * 20, dtype="object")
    seen: list[pd.DataFrame] = []
    train = importlib.import_module("attrib.enrich._nettype_train")
    real = train.evidence_matrix

    def spy(frame: pd.DataFrame, name_p: np.ndarray) -> np.ndarray:
        seen.append(frame)
        return real(frame, name_p)

    monkeypatch.setattr(train, "evidence_matrix", spy)
    fit_model(ev, y, hide_always=("frac_dcrange",), min_df=2, n_folds=2, max_iter=5)
    assert seen and (seen[0]["sib_host"] == 0.0).all()


def test_fit_model_learns_the_evidence() -> None:
    rng = np.random.default_rng(0)
    n = 300
    host = rng.random(n) < 0.5
    # the residential names carry a seed term; once it is cut, both read "Zeta Net"
    orgs = ["Zeta Net" if h else "Zeta Broadband Net" for h in host]
    ev = _ev(orgs, countries_per_24=np.where(host, 0.3, 0.001) + rng.random(n) * 0.01)
    y = pd.Series(np.where(host, "hosting", "residential"), dtype="object")
    m = fit_model(ev, y, min_df=2, n_folds=2, max_iter=20)
    assert m.classes == ["hosting", "residential"]
    p = m.predict_proba(ev)
    assert ((p[:, 0] > 0.5) == host).mean() > 0.95
    # the blinded copy taught the shape: with the seed gone from every name, shape decides
    same = ev.assign(org="Zeta Net")
    assert ((m.predict_proba(same)[:, 0] > 0.5) == host).mean() > 0.95
