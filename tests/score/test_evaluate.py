"""Evaluation metrics: pessimistic ties, missing adversaries, foreign-scenario rows."""

from __future__ import annotations

import numpy as np
import pytest

from attrib.score.evaluate import foreign_metrics, format_foreign, pessimistic_ap


def test_ties_are_broken_against_the_model():
    y = np.array([1, 0, 0, 0])
    # all tied: the adversary is ranked last among its ties -> precision 1/4 at its rank
    assert pessimistic_ap(y, np.ones(4)) == pytest.approx(0.25)
    assert pessimistic_ap(y, np.array([0.9, 0.1, 0.1, 0.1])) == pytest.approx(1.0)


def test_missing_adversaries_count_as_misses():
    y = np.array([1, 0])
    assert pessimistic_ap(y, np.array([0.9, 0.1]), missing=1) == pytest.approx(0.5)
    assert np.isnan(pessimistic_ap(np.zeros(3, int), np.ones(3)))


def test_foreign_metrics_row():
    y = np.array([1, 1, 0, 0, 0])
    score = np.array([0.95, 0.2, 0.9, 0.1, 0.05])
    kind = np.array(["adversary", "adversary", "benign:mobile_cgnat", "x", "x"], dtype=object)
    m = foreign_metrics(y, score, kind, missing=1,
                        baselines={"failed_signins": np.array([0, 0, 5, 1, 1.0])},
                        rank=np.array([1, 3, 2, 4, 5]))  # fmt: skip
    assert m["n_adv"] == 3 and m["missing"] == 1
    # order: adv, cgnat, adv, x, x -> precisions 1, 2/3 over 3 adversaries
    assert m["ap"] == pytest.approx((1 + 2 / 3) / 3)
    assert m["p_at_k"] == pytest.approx(2 / 3)
    assert m["fp_kinds"] == {"benign:mobile_cgnat": 1}
    assert m["n_at_top_score"] == 1
    assert m["ap_rank"] == pytest.approx(m["ap"])
    assert m["failed_signins"]["p_at_k"] == 0.0
    text = format_foreign([{"scenario": "s1", **m}])
    assert "s1" in text and "mobile cgnat 1" in text
