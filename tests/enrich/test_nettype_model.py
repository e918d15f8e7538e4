"""The network-type model: plain-data trees, JSON round trip, refusals (_nettype_model.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from attrib.enrich._nettype_features import LISTS, NUMERIC
from attrib.enrich._nettype_model import (
    NetTypeModel,
    evidence_matrix,
    load_model,
    name_matrix,
    name_tokens,
    trees_from_sklearn,
)
from attrib.errors import ModelError

CLASSES = ["business", "hosting", "residential"]


def _evidence(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ev = pd.DataFrame({c: rng.normal(size=n) for c in NUMERIC})
    ev.loc[rng.random(n) < 0.2, "geo_outside_whois"] = np.nan  # missing values take a side
    for c in LISTS:
        ev[c] = rng.random(n) < 0.3
    ev["asn"] = np.arange(n) + 1
    ev["org"] = rng.choice(["Acme Hosting GmbH", "Fibra Net Ltda", "Big Bank plc"], n)
    ev["whois_country"] = pd.array(rng.choice(["DE", "BR", None], n), dtype="string")
    ev["n_addr"] = 256
    return ev


def _model(ev: pd.DataFrame) -> tuple[NetTypeModel, HistGradientBoostingClassifier, np.ndarray]:
    rng = np.random.default_rng(1)
    name_p = rng.dirichlet(np.ones(3), len(ev))
    X = evidence_matrix(ev, name_p)
    y = np.array(CLASSES)[(X[:, 0] > 0).astype(int) + (X[:, len(NUMERIC)] > 0).astype(int)]
    hgb = HistGradientBoostingClassifier(max_iter=15, max_leaf_nodes=7, random_state=0)
    hgb.fit(X, y)
    base, trees = trees_from_sklearn(hgb)
    vocab = sorted({t for o in ev["org"] for t in name_tokens(o)})
    m = NetTypeModel(
        CLASSES, vocab, ["BR", "DE"], rng.normal(size=(3, len(vocab) + 3)), np.zeros(3), base, trees
    )
    return m, hgb, X


def test_name_tokens_words_and_grams() -> None:
    t = name_tokens("Gävle Energi AB (AS206114)")
    assert {"w:gavle", "w:energi", "w:ab", "g:<gav", "g:rgi>"} <= t
    assert not any("206114" in x for x in t)
    assert name_tokens(None) == set() and name_tokens("") == set()


def test_trees_match_sklearn() -> None:
    ev = _evidence(400)
    m, hgb, X = _model(ev)
    np.testing.assert_allclose(m.evidence_proba(X), hgb.predict_proba(X), rtol=1e-9, atol=1e-12)


def test_binary_trees_match_sklearn() -> None:
    ev = _evidence(300)
    X = evidence_matrix(ev, np.zeros((len(ev), 2)))
    y = np.where(X[:, 0] + 0.3 * X[:, 1] > 0, "hosting", "residential")
    hgb = HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(X, y)
    base, trees = trees_from_sklearn(hgb)
    m = NetTypeModel(["hosting", "residential"], [], [], np.zeros((2, 1)), np.zeros(2), base, trees)
    np.testing.assert_allclose(m.evidence_proba(X), hgb.predict_proba(X), rtol=1e-9, atol=1e-12)


def test_name_matrix_marks_country_and_tokens() -> None:
    ev = _evidence(5)
    vocab = ["w:acme", "w:bank"]
    X = name_matrix(ev, vocab, ["BR", "DE"]).toarray()
    assert X.shape == (5, 5)
    assert (X[:, 2:].sum(axis=1) == 1).all()  # exactly one country slot (or "other")
    acme = ev["org"].str.startswith("Acme").to_numpy()
    assert (X[acme, 0] == 1).all() and (X[~acme, 0] == 0).all()


def test_round_trip(tmp_path: Path) -> None:
    ev = _evidence(200)
    m, _, _ = _model(ev)
    p = tmp_path / "nt.json"
    digest = m.save(p)
    back = load_model(p)
    assert back.meta["sha256"] == digest and back.classes == CLASSES
    np.testing.assert_allclose(back.predict_proba(ev), m.predict_proba(ev), atol=1e-5)
    assert p.read_bytes() == (m.save(tmp_path / "again.json") and (tmp_path / "again.json")
                              .read_bytes())  # fmt: skip


def test_tampered_file_refused(tmp_path: Path) -> None:
    m, _, _ = _model(_evidence(50))
    p = tmp_path / "nt.json"
    m.save(p)
    p.write_text(p.read_text().replace('"business"', '"busyness"'))
    with pytest.raises(ModelError, match="sha256 mismatch"):
        load_model(p)


def _rewrite(p: Path, doc: dict) -> None:
    from attrib._modelfile import write_model

    write_model(doc, p)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(format="attrib-origin-scorer"), "not an attrib network-type model"),
        (lambda d: d.update(numeric=d["numeric"][:-1]), "evidence columns differ"),
        (lambda d: d["name_coef"].pop(), "one row per class"),
        (lambda d: d["name_coef"][0].pop(), "columns, expected"),
        (lambda d: d["trees"][0][0]["left"].__setitem__(0, 0), "outside the tree"),
        (lambda d: d["trees"][0][0]["feature"].__setitem__(0, 999), "unknown input"),
        (lambda d: d["trees"][0].pop(), "one tree per class"),
        (lambda d: d["baseline"].__setitem__(0, "x"), "list of numbers"),
    ],
)
def test_malformed_refused(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    m, _, _ = _model(_evidence(80))
    p = tmp_path / "nt.json"
    doc = json.loads(json.dumps(m.to_dict()))
    edit(doc)
    _rewrite(p, doc)
    with pytest.raises(ModelError, match=message):
        load_model(p)


def test_pickle_refused(tmp_path: Path) -> None:
    p = tmp_path / "nt.json"
    p.write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(ModelError, match="pickle"):
        load_model(p)
