"""evaluate --foreign: a scenario folder analysed as a user would, then scored against its key."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from attrib.errors import InputError
from attrib.pipeline import foreign
from attrib.pipeline.foreign import evaluate_foreign, find_scenarios, load_labels
from attrib.score import OriginScorer

DEMO = Path(__file__).resolve().parents[2] / "data" / "samples" / "demo"


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory) -> Path:
    """One foreign-shaped scenario from the demo: logs in sub-folders, the key beside them."""
    root = tmp_path_factory.mktemp("foreign")
    s = root / "demo-1"
    for sub in ("zeek", "entra"):
        shutil.copytree(DEMO / sub, s / sub)
    truth = pd.read_parquet(DEMO / "truth.parquet")
    adv = truth[truth["label"] == "adversary"]
    key = {
        "adversary": {str(r.ip): {"campaign": str(r.campaign), "role": "exit_node"}
                      for r in adv.itertuples()},
        "kinds": {str(r.ip): f"{r.label}:{r.kind}" for r in truth[truth["label"] != "adversary"]
                  .itertuples()},
    }  # fmt: skip
    with gzip.open(s / "labels.json.gz", "wt", encoding="utf-8") as fh:
        json.dump(key, fh)
    (root / "notes").mkdir()  # a folder without a key is not a scenario
    return root


def test_find_scenarios_and_labels(scenarios: Path) -> None:
    assert [p.name for p in find_scenarios(scenarios)] == ["demo-1"]
    assert find_scenarios(scenarios / "demo-1") == [scenarios / "demo-1"]
    adv, kinds = load_labels(scenarios / "demo-1")
    assert adv and all(v.split(":")[0] in ("benign", "confounder") for v in kinds.values())
    with pytest.raises(InputError):
        find_scenarios(scenarios / "notes")


def test_analysed_as_a_user_would_then_scored(scenarios: Path, tmp_path: Path, monkeypatch):
    seen: list[list[Path]] = []
    real = foreign._inputs

    def spy(folder: Path) -> list[Path]:
        got = real(folder)
        seen.append(got)
        return got

    monkeypatch.setattr(foreign, "_inputs", spy)
    # a model for the plumbing: fitted on the demo's own origins (the metric is not the point)
    first = foreign._features(scenarios / "demo-1", tmp_path, True, None)
    adv, _ = load_labels(scenarios / "demo-1")
    y = first["ip"].astype(str).isin(list(adv)).astype(int)
    model = OriginScorer(cv=2).fit(first, y, groups=(first.index % 2))
    rows = evaluate_foreign(scenarios, model, workdir=tmp_path)
    # the analysis got the log folders only, never the answer key beside them
    assert [p.name for p in seen[0]] == ["entra", "zeek"]
    assert len(seen) == 1  # the second pass reused the cached feature table
    r = rows[0]
    assert r["scenario"] == "demo-1" and r["n_adv"] == len(adv)
    assert 0.0 <= r["ap"] <= 1.0 and {"failed_signins", "isolation_forest"} <= set(r)
    assert r["ap_rank"] >= r["ap"] - 1e-12  # rank order never loses to pessimistic ties
