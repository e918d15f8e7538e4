"""Which model ranks best on held-out scenarios? The shipped additive model against alternatives.

Uses the cached labelled scenario tables of ``attrib train`` (same training and held-out
scenarios), fits each candidate on the training scenarios, and prints mean per-scenario AP and
precision@k on the held-out ones, plus fit time:

* ``additive`` — the shipped OriginScorer (binned features + logistic weights; exact reasons);
* ``additive_no_context`` — the same without the three cluster-context features;
* ``logistic_raw`` — logistic regression on standardised raw features (median-imputed);
* ``hist_gbm`` — HistGradientBoostingClassifier (no exact additive explanation).

    .venv/bin/python bench/score_models.py --workdir ~/.cache/attrib/scenarios
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from attrib.features import FEATURE_COLUMNS
from attrib.score import OriginScorer
from attrib.score._context import CONTEXT_COLUMNS, add_context
from attrib.score.training import DEFAULT_EVAL, DEFAULT_TRAIN, build_dataset


def p_at_k(y: np.ndarray, s: np.ndarray, ip: np.ndarray) -> float:
    k = int(y.sum())
    order = np.lexsort((ip, -s))
    return float(y[order[:k]].mean())


def matrix(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    ctx = add_context(df)
    return ctx[cols].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64, na_value=np.nan)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", default=str(Path.home() / ".cache/attrib/scenarios"))
    a = ap.parse_args()
    train = build_dataset(list(DEFAULT_TRAIN), a.workdir)
    held = build_dataset(list(DEFAULT_EVAL), a.workdir)
    cols = [c for c in FEATURE_COLUMNS if c in train.columns] + list(CONTEXT_COLUMNS)
    Xt, yt = matrix(train, cols), train["y"].to_numpy(int)
    keep = ~np.isnan(Xt).all(axis=0)  # HistGradientBoosting cannot bin an all-missing column
    cols = [c for c, k in zip(cols, keep, strict=True) if k]
    Xt = Xt[:, keep]
    cands = {
        "additive": OriginScorer(),
        "additive_no_context": OriginScorer(context=False),
        "logistic_raw": make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(C=0.3, max_iter=2000, class_weight="balanced"),
        ),
        "hist_gbm": HistGradientBoostingClassifier(random_state=0),
    }
    print(
        f"train: {len(train)} origins / {int(yt.sum())} adversary; held-out: {len(held)} origins, "
        f"{held['scenario'].nunique()} scenarios"
    )
    print(f"{'model':<22}{'fit s':>7}{'mean AP':>9}{'mean P@k':>10}{'min AP':>8}  per-scenario AP")
    for name, est in cands.items():
        t = time.perf_counter()
        if isinstance(est, OriginScorer):
            est.fit(train, train["y"], groups=train["scenario"])
        else:
            est.fit(Xt, yt)
        fit_s = time.perf_counter() - t
        aps, pks, per = [], [], []
        for sid, df in held.groupby("scenario", sort=True):
            y = df["y"].to_numpy(int)
            ip = df["ip"].astype(str).to_numpy(object)
            if isinstance(est, OriginScorer):
                s = est.decision_function(df)
            else:
                s = est.predict_proba(matrix(df, cols))[:, 1]
            aps.append(average_precision_score(y, s))
            pks.append(p_at_k(y, s, ip))
            per.append(f"{sid}={aps[-1]:.3f}")
        print(
            f"{name:<22}{fit_s:>7.1f}{np.mean(aps):>9.3f}{np.mean(pks):>10.3f}{np.min(aps):>8.3f}  "
            + " ".join(per)
        )


if __name__ == "__main__":
    main()
