"""Training data, evaluation metrics and the train/evaluate/score commands."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from score_data import synthetic_origins

from attrib.cli import main
from attrib.errors import ConfigError
from attrib.score import OriginScorer, load_model
from attrib.score.evaluate import evaluate, format_report, rank_metrics
from attrib.score.training import (
    Scenario,
    _cache_file,
    label_origins,
    parse_scenarios,
    scenario_origins,
)

KINDS = np.array(["home_broadband", "scanner", "commercial_vpn", "private_relay", "mobile_cgnat"])


# -- scenarios -------------------------------------------------------------------------------
def test_scenario_parse_and_ids():
    s = Scenario.parse("demo:7:victim_country=FR,days=3")
    assert (s.preset, s.seed, s.overrides) == ("demo", 7, (("victim_country", "FR"), ("days", "3")))
    assert s.id == "demo-s7-victim_country=FR-days=3"
    assert Scenario.parse(str(s)) == s
    got = parse_scenarios(["quiet:1-3", "loud:5;demo:2:days=4"])
    assert [x.id for x in got] == ["quiet-s1", "quiet-s2", "quiet-s3", "loud-s5", "demo-s2-days=4"]


@pytest.mark.parametrize("bad", ["demo", "demo:x", ":3", "demo:3:days"])
def test_scenario_parse_errors(bad):
    with pytest.raises(ConfigError):
        Scenario.parse(bad)


def test_label_origins_joins_by_ip():
    origins = pd.DataFrame({"ip": ["1.1.1.1", "2.2.2.2", "3.3.3.3"], "f": [1.0, 2.0, 3.0]})
    truth = pd.DataFrame(
        {
            "ip": ["2.2.2.2", "1.1.1.1", "9.9.9.9"],
            "label": ["adversary", "confounder", "benign"],
            "kind": ["soho_router", "commercial_vpn", "home_broadband"],
            "campaign": ["orb-1", None, None],
            "role": ["exit", "vpn", "user"],
        }
    )
    out = label_origins(origins, truth)
    assert out["y"].tolist() == [0, 1, 0]
    assert out["kind"].tolist() == ["commercial_vpn", "soho_router", "unknown"]
    assert out["label"].tolist() == ["confounder", "adversary", "unknown"]
    assert out["f"].tolist() == [1.0, 2.0, 3.0]


# -- metrics ---------------------------------------------------------------------------------
def test_rank_metrics_by_hand():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    score = np.array([0.9, 0.8, 0.7, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.0])
    ip = np.array([f"10.0.0.{i}" for i in range(10)], dtype=object)
    kind = np.array(["soho"] + ["commercial_vpn"] + ["soho"] + ["home"] * 7, dtype=object)
    m = rank_metrics(y, score, ip, kind)
    assert m["p_at_k"] == 0.5  # top 2: one adversary, one VPN
    assert m["ap"] == pytest.approx((1 + 2 / 3) / 2)
    assert m["recall_top1pct"] == 0.5  # top 1 origin of 10
    assert m["fp_kinds"] == {"commercial_vpn": 1}


def test_rank_metrics_ties_broken_by_ip():
    y = np.array([0, 1])
    ip = np.array(["10.0.0.2", "10.0.0.1"], dtype=object)
    m = rank_metrics(y, np.zeros(2), ip, np.array(["a", "b"], dtype=object))
    assert m["p_at_k"] == 1.0


def labelled(n: int, seed: int, scenario: str, preset: str) -> pd.DataFrame:
    df, y = synthetic_origins(n, seed=seed)
    rng = np.random.default_rng(seed)
    df["y"] = y
    df["label"] = np.where(y == 1, "adversary", "benign")
    df["kind"] = np.where(y == 1, "soho_router", rng.choice(KINDS, n))
    df["scenario"], df["preset"], df["seed"] = scenario, preset, seed
    df["baseline_failed_signins"] = df["attempts_per_account_day"] * df["failure_ratio"]
    return df


def test_evaluate_reports_presets_baselines_and_fp_kinds():
    train = pd.concat([labelled(1500, s, f"demo-s{s}", "demo") for s in (1, 2)], ignore_index=True)
    model = OriginScorer(cv=2).fit(train, train["y"], groups=train["scenario"])
    held = pd.concat(
        [labelled(1200, 11, "quiet-s11", "quiet"), labelled(1200, 12, "loud-s12", "loud")],
        ignore_index=True,
    )
    res = evaluate(model, held)
    assert set(res["presets"]) == {"quiet", "loud"}
    for e in [*res["presets"].values(), res["overall"]]:
        assert set(e) >= {
            "model",
            "failed_signins",
            "isolation_forest",
            "ap_ratio_vs_best_baseline",
        }
        assert 0.9 < e["model"]["ap"] <= 1.0 + 1e-9
    assert len(res["scenarios"]) == 2 * 3
    assert res["fp_kinds"]["top_k_slots"] == int(held["y"].sum())
    text = format_report(res)
    assert "quiet" in text and "isolation_forest" in text and "false positives" in text


# -- commands (cached scenario tables: no simulation) -----------------------------------------
def _seed_cache(wd, spec: str, n: int = 1500) -> None:
    sc = Scenario.parse(spec)
    df = labelled(n, sc.seed, sc.id, sc.preset)
    p = _cache_file(wd / sc.id)  # the cache layout
    p.parent.mkdir(parents=True)
    df.to_parquet(p, index=False)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    wd = tmp_path_factory.mktemp("scen")
    for spec in ("demo:1", "loud:2", "quiet:101", "very_quiet:102"):
        _seed_cache(wd, spec)
    return wd


def _train(wd, out, capsys):
    rc = main(["train", "--scenarios", "demo:1 loud:2", "--eval-scenarios", "quiet:101 very_quiet:102",
               "--workdir", str(wd), "-o", str(out)])  # fmt: skip
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    return cap.out


def test_train_reproduces_same_bytes_and_writes_card(workdir, tmp_path, capsys):
    out1 = _train(workdir, tmp_path / "a" / "m.json", capsys)
    _train(workdir, tmp_path / "b" / "m.json", capsys)
    a, b = (tmp_path / d / "m.json" for d in ("a", "b"))
    assert a.read_bytes() == b.read_bytes()
    assert "very_quiet" in out1 and "failed_signins" in out1
    card = (tmp_path / "a" / "MODEL_CARD.md").read_text()
    for needle in ("Held-out scenarios", "very_quiet", "IsolationForest", "False positives",
                   "Known limits", "sha256", "attrib train"):  # fmt: skip
        assert needle in card, needle
    metrics = json.loads((tmp_path / "a" / "m.metrics.json").read_text())
    assert metrics["held_out"] == ["quiet:101", "very_quiet:102"]
    model = load_model(a)
    assert model.metadata_["training"]["scenarios"] == ["demo:1", "loud:2"]


def test_train_refuses_overlap(workdir, tmp_path, capsys):
    rc = main(["train", "--scenarios", "demo:1", "--eval-scenarios", "demo:1",
               "--workdir", str(workdir), "-o", str(tmp_path / "m.json")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc != 0 and "training and evaluation" in err and err.count("\n") == 1


def test_evaluate_and_score_commands(workdir, tmp_path, capsys):
    model = tmp_path / "m.json"
    _train(workdir, model, capsys)
    assert main(["evaluate", "--model", str(model), "--scenarios", "quiet:101",
                 "--workdir", str(workdir), "--json"]) == 0  # fmt: skip
    res = json.loads(capsys.readouterr().out)
    assert res["overall"]["model"]["ap"] > 0.9
    origins, _ = synthetic_origins(400, seed=5)
    src = tmp_path / "origins.parquet"
    origins.to_parquet(src)
    out = tmp_path / "scored.csv"
    assert main(["score", str(src), "--model", str(model), "-o", str(out)]) == 0
    assert "top:" in capsys.readouterr().out
    scored = pd.read_csv(out)
    assert scored["rank"].tolist() == list(range(1, 401))
    assert {"score", "reasons", "reasons_json"} <= set(scored.columns)


def test_score_command_errors_are_one_line(tmp_path, capsys):
    p = tmp_path / "m.json"
    p.write_bytes(b"\x80\x04not a model")
    (tmp_path / "o.csv").write_text("ip\n1.2.3.4\n")
    rc = main(["score", str(tmp_path / "o.csv"), "--model", str(p), "-o", str(tmp_path / "x.csv")])
    err = capsys.readouterr().err
    assert rc == 4 and "never unpickled" in err and err.count("\n") == 1


# -- one real scenario end to end (simulate -> read -> enrich -> features -> cluster -> labels) --
@pytest.mark.slow
def test_scenario_origins_end_to_end(tmp_path):
    sc = Scenario.parse("demo:3:days=3,users=25,scanners_per_day=4,campaign.start_day=0")
    df = scenario_origins(sc, tmp_path)
    assert df["y"].sum() > 0 and (df["y"] == 0).sum() > 0
    assert {"cluster", "label", "kind", "scenario", "baseline_failed_signins"} <= set(df.columns)
    assert set(df["label"]) <= {"benign", "confounder", "adversary", "unknown"}
    # cached: the second call reads the table back
    again = scenario_origins(sc, tmp_path)
    pd.testing.assert_frame_equal(df, again)


def test_cache_key_follows_pipeline_source(tmp_path, monkeypatch):
    import attrib.score.training as tr

    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "a.py").write_text("x = 1\n")
    (tmp_path / "cluster").mkdir()
    (tmp_path / "cluster" / "clusterer.py").write_text("y = 1\n")
    (tmp_path / "cluster" / "_graph.py").write_text("z = 1\n")
    monkeypatch.setattr(tr, "_PKG", tmp_path)
    k1 = tr._cache_key()
    (tmp_path / "cluster" / "_graph.py").write_text("z = 2\n")
    k2 = tr._cache_key()
    (tmp_path / "features" / "a.py").write_text("x = 2\n")
    k3 = tr._cache_key()
    assert len({k1, k2, k3}) == 3
    assert tr._sim_key() != k3
