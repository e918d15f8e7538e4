"""OriginScorer on synthetic feature frames: estimator contract, exact reasons, safe model I/O."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from score_data import T0, synthetic_origins
from sklearn.metrics import average_precision_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from attrib.errors import ModelError
from attrib.score import OriginScorer, load_model
from attrib.score._context import add_context, short_lived_residential
from attrib.score._explain import detail_texts, format_value, render
from attrib.score._model import learn_edges


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    return synthetic_origins()


@pytest.fixture(scope="module")
def fitted(data) -> OriginScorer:
    X, y = data
    return OriginScorer(cv=3).fit(X, y, groups=np.arange(len(y)) % 4)


# -- estimator contract ----------------------------------------------------------------------
@parametrize_with_checks(
    [OriginScorer(cv=3), OriginScorer(calibration="none")],
    expected_failed_checks=lambda est: (
        {
            "check_class_weight_classifiers": (
                "calibration on held-out folds maps the class-weighted logits back "
                "to calibrated probabilities, undoing the extreme class_weight this check "
                "sets; with calibration='none' the check runs and passes"
            )
        }
        if est.calibration != "none"
        else {}
    ),
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_init_stores_params_only():
    est = OriginScorer(n_bins=5, C=2.0)
    assert est.get_params()["n_bins"] == 5
    assert not any(k.endswith("_") for k in vars(est))


CTX = ["ctx_cluster_size", "ctx_cluster_short_res_peers", "ctx_cluster_short_res_share",
       "ctx_cluster_routine_share", "ctx_cluster_campaign_peers", "ctx_tool_routine_share",
       "ctx_tool_campaign_peers", "ctx_tool_peer_accounts", "ctx_tool_peer_days"]  # fmt: skip


def test_fit_returns_self_and_learned_state(data, monkeypatch):
    X, y = data
    catalogue = (("failure_ratio", "attempts_per_account_day", "not_in_table"), {})
    monkeypatch.setattr("attrib.score.scorer._feature_catalogue", lambda: catalogue)
    est = OriginScorer(cv=3)
    assert est.fit(X, y) is est
    # the catalogue's features present in the table, in catalogue order, then cluster context
    assert est.features_ == ["failure_ratio", "attempts_per_account_day", *CTX]
    assert list(est.classes_) == [0, 1]


def test_world_specific_features_are_not_inputs():
    from attrib.features import FEATURE_COLUMNS
    from attrib.score._context import NOT_INPUTS
    from attrib.score.scorer import _feature_catalogue

    cols, _ = _feature_catalogue()
    assert NOT_INPUTS <= set(FEATURE_COLUMNS)  # still computed, still in the origins table
    assert not NOT_INPUTS & set(cols)
    assert set(cols) == set(FEATURE_COLUMNS) - NOT_INPUTS


def test_numeric_fallback_without_catalogue(data, monkeypatch):
    X, y = data
    monkeypatch.setattr("attrib.score.scorer._feature_catalogue", lambda: ((), {}))
    est = OriginScorer(cv=3, context=False).fit(X, y)
    assert est.features_ == ["attempts_per_account_day", "failure_ratio", "noise"]


def test_identifiers_never_features(data):
    X, y = data
    X = X.assign(asn=np.arange(len(X)), lat=1.0, lon=2.0, score=0.5, rank=1)
    est = OriginScorer(cv=3).fit(X, y)
    assert not {"asn", "lat", "lon", "score", "rank", "ip"} & set(est.features_)


# -- ranking and scores ----------------------------------------------------------------------
def test_ranks_synthetic_adversaries(fitted, data):
    X, y = data
    out = fitted.score_origins(X)
    assert average_precision_score(y, out["score"]) > 0.95
    assert out["score"].between(0, 1).all()
    assert sorted(out["rank"]) == list(range(1, len(X) + 1))
    # calibration is monotone: rank order agrees with score order
    by_rank = out.sort_values("rank")["score"].to_numpy()
    assert np.all(np.diff(by_rank) <= 0)


def test_calibrated_probabilities_are_honest(fitted):
    X, y = synthetic_origins(4000, seed=7)
    p = fitted.predict_proba(X)[:, 1]
    # a calibrated score's mean matches the base rate on fresh data from the same process
    assert abs(p.mean() - y.mean()) < 0.02
    hi = p > 0.5
    assert y[hi].mean() > 0.8


def test_rank_ties_broken_by_ip(fitted, data):
    X, _ = data
    row = X.iloc[[0]]
    dup = pd.concat([row.assign(ip="10.9.9.9"), row.assign(ip="10.9.9.1")], ignore_index=True)
    out = fitted.score_origins(dup)
    assert out.loc[out["ip"] == "10.9.9.1", "rank"].item() == 1
    assert out["score"].nunique() == 1


def test_deterministic_scores_and_model_bytes(data, tmp_path):
    X, y = data
    g = np.arange(len(y)) % 4
    a = OriginScorer(cv=3).fit(X, y, groups=g)
    b = OriginScorer(cv=3).fit(X, y, groups=g)
    a.save(tmp_path / "a.json")
    b.save(tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    s1, s2 = a.score_origins(X), a.score_origins(X)
    pd.testing.assert_frame_equal(s1, s2)


def test_predict_never_refits(fitted):
    before = json.dumps(fitted.to_dict(), sort_keys=True)
    other, _ = synthetic_origins(500, seed=3)
    fitted.predict_proba(other)
    fitted.score_origins(other)
    assert json.dumps(fitted.to_dict(), sort_keys=True) == before


def test_missing_feature_columns_refused(fitted, data):
    X, _ = data
    with pytest.raises(ModelError, match="lacks 1 model feature"):
        fitted.score_origins(X.drop(columns=["failure_ratio"]))


# -- explanations ----------------------------------------------------------------------------
def test_contributions_add_up_exactly(fitted, data):
    X, _ = data
    c = fitted.contributions(X)
    np.testing.assert_allclose(
        c.to_numpy().sum(axis=1) + fitted.model_.base, fitted.decision_function(X), atol=1e-9
    )


def test_reasons_match_json_and_contributions(fitted, data):
    X, y = data
    out = fitted.score_origins(X)
    top = out.sort_values("rank").iloc[0]
    everything = json.loads(top["reasons_json"])
    items = [i for i in everything if "direction" not in i]
    against = [i for i in everything if "direction" in i]
    assert everything == items + against  # reasons first, then the counter-evidence
    assert all(i["direction"] == "against" and i["contribution"] < 0 for i in against)
    assert top["counter_evidence"] == "; ".join(i["text"] for i in against)
    assert 1 <= len(items) <= 3
    assert top["reasons"] == "; ".join(i["text"] for i in items)
    contribs = [i["contribution"] for i in items]
    assert contribs == sorted(contribs, reverse=True) and contribs[0] > 0
    # context features depend on the whole table: contributions over the same table
    c = fitted.contributions(X).loc[top.name]
    for i in items:
        assert i["contribution"] == pytest.approx(c[i["feature"]], abs=1e-4)
        assert set(i) == {"feature", "value", "contribution", "text"}
    # the strongest drivers of the top adversary are the features it was made suspicious by
    informative = {"attempts_per_account_day", "failure_ratio", "ctx_cluster_size",
                   "ctx_cluster_short_res_peers", "ctx_cluster_short_res_share"}  # fmt: skip
    assert {i["feature"] for i in items} <= informative


def test_explain_long_form(fitted, data):
    X, _ = data
    ex = fitted.explain(X.head(50), top=2)
    assert list(ex.columns) == ["ip", "order", "feature", "value", "contribution", "text"]
    assert ex.groupby("ip")["order"].max().max() <= 2


def test_reason_sentences():
    assert format_value("failure_ratio", 0.834) == "83%"
    assert format_value("is_residential", 1.0) == "yes"
    assert format_value("n_accounts", 12.0) == "12"
    assert format_value("dist_usual_km", 1234.56) == "1235"
    assert (
        render("touched {value} distinct accounts", "n_accounts", 37.0)
        == "touched 37 distinct accounts"
    )
    assert render(None, "x", 2.5) == "x = 2.5"
    assert render("t {value}", "x", float("nan")) == "x: not observed"


def test_absences_are_never_reasons_and_habits_are_counter_evidence():
    from attrib.score._explain import counter_arrays, explain_arrays

    feats = ["err_unknown_account_share", "n_services", "tenant_routine_accounts", "lifetime_days"]
    values = np.array([[0.0, 1.0, 12.0, 0.0], [0.6, 1.0, 0.0, 3.0]])
    contrib = np.array([[2.0, 1.5, -3.0, 1.0], [2.0, 1.5, 1.0, -0.5]])
    tpl = {"err_unknown_account_share": "{value} of failures were unknown accounts",
           "n_services": "used {value} distinct services",
           "tenant_routine_accounts": "{value} of the organisation's accounts sign in from here "
                                      "routinely",
           "lifetime_days": "active for {value} days"}  # fmt: skip
    reasons, _ = explain_arrays(contrib, values, feats, tpl, top=3)
    # row 0: "0% of failures were unknown accounts" is an absence, "used 1 distinct services"
    # no evidence; a short life (0 days) is evidence
    assert reasons[0] == "active for 0 days"
    # row 1: no routine accounts raises the score, but that is an absence, not a reason
    assert reasons[1] == "60% of failures were unknown accounts"
    counter, cjson = counter_arrays(contrib, values, feats, tpl, top=3)
    assert counter[0] == "12 of the organisation's accounts sign in from here routinely"
    item = json.loads(cjson[0])[0]
    assert item["direction"] == "against" and item["contribution"] == pytest.approx(-3.0)
    assert counter[1] == "active for 3 days"


# -- context ---------------------------------------------------------------------------------
def test_cluster_context():
    df = pd.DataFrame(
        {
            "ip": ["a", "b", "c", "d"],
            "cluster": pd.array(["C1", "C1", "C1", None], dtype="string"),
            "net_type": ["residential", "mobile", "hosting", "residential"],
            "first_seen": T0,
            "last_seen": [T0 + pd.Timedelta(hours=h) for h in (10, 20, 5, 500)],
        }
    )
    assert short_lived_residential(df).tolist() == [True, True, False, False]
    ctx = add_context(df)
    assert ctx["ctx_cluster_size"].tolist() == [3, 3, 3, 1]
    assert ctx["ctx_cluster_short_res_peers"].tolist() == [1, 1, 2, 0]
    assert ctx["ctx_cluster_short_res_share"].tolist() == pytest.approx([2 / 3, 2 / 3, 2 / 3, 0])


def test_campaign_context_leave_one_out():
    df = pd.DataFrame(
        {
            "ip": ["a", "b", "c", "d", "e"],
            "cluster": pd.array(["C1", "C1", "C1", "C2", "C2"], dtype="string"),
            "top_user_agent": ["tool", "tool", "browser", "tool", "browser"],
            "top_ja4": ["j", "j", "k", "j", "k"],
            "failure_ratio": [1.0, 0.9, 0.0, 1.0, 0.05],
            "tenant_routine_accounts": [0.0, 0.0, 5.0, 0.0, 3.0],
        }
    )
    ctx = add_context(df)
    # cluster C1 seen from a: b fails only, c is routine -> 1 of 2 others routine, 1 failing
    assert ctx["ctx_cluster_routine_share"].tolist() == pytest.approx([0.5, 0.5, 0.0, 1.0, 0.0])
    assert ctx["ctx_cluster_campaign_peers"].tolist() == [1, 1, 2, 0, 1]
    # tooling "tool|j": a, b, d all fail only, none routine
    assert ctx["ctx_tool_campaign_peers"].tolist() == [2, 2, 0, 2, 0]
    assert ctx["ctx_tool_routine_share"].tolist() == pytest.approx([0.0, 0.0, 1.0, 0.0, 1.0])


def test_tool_peer_breadth_leave_one_out():
    df = pd.DataFrame(
        {
            "ip": ["a", "b", "c", "d", "e"],
            "top_user_agent": ["tool", "tool", "browser", "tool", "browser"],
            "top_ja4": ["j", "j", "k", "j", "k"],
            "failure_ratio": [1.0, 0.9, 0.0, 1.0, 0.05],
            "tenant_routine_accounts": [0.0, 0.0, 5.0, 0.0, 3.0],
            "n_accounts": [3.0, 5.0, 1.0, 20.0, 2.0],
            "active_days": [1.0, 2.0, 9.0, 4.0, 9.0],
        }
    )
    ctx = add_context(df)
    # a's failing tooling peers: b (5 accounts) and d (20, clipped to 10); never itself
    assert ctx["ctx_tool_peer_accounts"].tolist()[:2] == [7.5, 6.5]
    assert ctx["ctx_tool_peer_days"].tolist()[:2] == [3.0, 2.5]
    # no other failing origin shares c's or e's tooling: unknown, not zero
    assert ctx[["ctx_tool_peer_accounts", "ctx_tool_peer_days"]].iloc[[2, 4]].isna().all().all()
    # without the breadth columns the feature is missing, never invented
    assert add_context(df.drop(columns="n_accounts"))["ctx_tool_peer_accounts"].isna().all()


def test_edges_midpoints_and_quantiles():
    np.testing.assert_allclose(learn_edges(np.array([0.0, 1.0, 1.0, 3.0]), 8), [0.5, 2.0])
    e = learn_edges(np.arange(1000, dtype=float), 4)
    assert len(e) == 3 and np.all(np.diff(e) > 0)
    assert learn_edges(np.array([np.nan, np.nan]), 4).size == 0


# -- model files -----------------------------------------------------------------------------
def test_save_load_roundtrip(fitted, data, tmp_path):
    X, _ = data
    p = tmp_path / "m.json"
    digest = fitted.save(p)
    assert (tmp_path / "m.json.sha256").read_text().startswith(digest)
    loaded = load_model(p)
    pd.testing.assert_frame_equal(loaded.score_origins(X), fitted.score_origins(X))


def _resign(p):
    import hashlib

    (p.parent / (p.name + ".sha256")).write_text(hashlib.sha256(p.read_bytes()).hexdigest() + "\n")


def test_tampered_byte_refused(fitted, tmp_path):
    p = tmp_path / "m.json"
    fitted.save(p)
    raw = bytearray(p.read_bytes())
    i = raw.index(b'"base": ') + 9
    raw[i] = ord("9") if raw[i] != ord("9") else ord("8")
    p.write_bytes(bytes(raw))
    with pytest.raises(ModelError, match="sha256 mismatch"):
        load_model(p)


def test_pickle_refused_even_with_matching_checksum(fitted, tmp_path):
    p = tmp_path / "m.json"
    p.write_bytes(pickle.dumps(fitted))
    _resign(p)
    with pytest.raises(ModelError, match="never unpickled"):
        load_model(p)


def test_missing_checksum_refused(fitted, tmp_path):
    p = tmp_path / "m.json"
    fitted.save(p)
    (tmp_path / "m.json.sha256").unlink()
    with pytest.raises(ModelError, match="checksum file .* missing"):
        load_model(p)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(schema_version=99), "schema version 99 is not supported"),
        (lambda d: d.update(format="something-else"), "not an attrib origin-scorer model"),
        (lambda d: d["weights"][0].append(1.0), "weights"),
        (
            lambda d: (
                d["edges"][0].reverse() if len(d["edges"][0]) > 1 else d["edges"][0].extend([2, 1])
            ),
            "strictly increasing|edges",
        ),
        (lambda d: d.update(calibration={"method": "exec"}), "calibration"),
        (lambda d: d.update(features=[]), "features"),
    ],
)
def test_malformed_model_refused(fitted, tmp_path, mutate, message):
    doc = fitted.to_dict()
    mutate(doc)
    p = tmp_path / "m.json"
    p.write_text(json.dumps(doc))
    _resign(p)
    with pytest.raises(ModelError, match=message):
        load_model(p)


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "nope.json")
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path)  # a folder without the shipped model name


def test_os_mismatch_reason_names_both_stacks():
    from attrib.score._explain import explain_arrays

    frame = pd.DataFrame(
        {"tcp_os": ["linux", "windows", None], "ua_os": ["windows", "windows", "ios"]}
    )
    contrib = np.array([[2.0, 0.0], [2.0, 0.0], [2.0, 0.0]])
    values = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    tmpl = {"os_mismatch": "TCP stack OS differs from the User-Agent's OS ({value})"}
    reasons, rj = explain_arrays(
        contrib, values, ["os_mismatch", "x"], tmpl, row_texts=detail_texts(frame)
    )
    assert reasons[0] == "TCP stack looks like Linux; User-Agent claims Windows"
    assert reasons[1] == reasons[2] == "TCP stack OS differs from the User-Agent's OS (yes)"
    assert json.loads(rj[0])[0]["text"] == reasons[0]


# --- hostile model files (issue 18 item 9) -------------------------------------------------------


def test_endless_model_file_is_refused_not_read_forever():
    with pytest.raises(ModelError, match="larger than"):  # was: grew to 3 GB, never ended
        load_model("/dev/zero")


def test_deeply_nested_model_is_a_model_error(tmp_path):
    p = tmp_path / "m.json"
    p.write_bytes(b'{"format": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    _resign(p)
    with pytest.raises(ModelError, match="not a JSON model file"):  # was RecursionError
        load_model(p)


def test_shipped_model_altered_with_a_recomputed_checksum_is_refused(tmp_path):
    import shutil

    from attrib._modelfile import SHIPPED_SHA256
    from attrib._paths import default_models_dir
    from attrib.score import MODEL_NAME

    shipped = default_models_dir() / MODEL_NAME
    p = tmp_path / MODEL_NAME
    shutil.copy(shipped, p)
    shutil.copy(shipped.with_name(MODEL_NAME + ".sha256"), tmp_path)
    assert load_model(p) is not None  # the shipped bytes load anywhere
    raw = bytearray(p.read_bytes())
    i = raw.index(b'"base": ') + 9
    raw[i] = ord("9") if raw[i] != ord("9") else ord("8")
    p.write_bytes(bytes(raw))
    _resign(p)  # the tamperer rewrites the .sha256 too: it still must not load
    with pytest.raises(ModelError, match="not that of the model shipped"):
        load_model(p)
    import hashlib

    assert SHIPPED_SHA256[MODEL_NAME] == hashlib.sha256(shipped.read_bytes()).hexdigest()
