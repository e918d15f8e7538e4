"""Evaluation of a scorer against baselines on labelled scenarios.

Every metric is computed *per scenario* (an analyst ranks the origins of one data set, not a
pool of many), then averaged per preset and overall:

* average precision (AP);
* precision at k, k = the number of adversary origins in the scenario;
* recall within the top 1% of origins (at least one origin);
* false positives among the top k, by confounder kind.

Baselines, on the same scenarios: ranking by failed sign-ins (count of ``outcome=failure``
identity events per origin), and an IsolationForest over the model's own features fitted on
each scenario's origins (unsupervised). Ties in any ranking are broken by address.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score

__all__ = [
    "calibration_metrics",
    "foreign_metrics",
    "format_foreign",
    "pessimistic_ap",
    "evaluate",
    "format_report",
    "isolation_scores",
    "rank_metrics",
    "rank_order",
    "scenario_scores",
]

#: Column of the labelled tables holding the failed sign-in count (baseline only).
FAILED_COLUMN = "baseline_failed_signins"
METHODS = ("model", "failed_signins", "isolation_forest")
_METRICS = ("ap", "p_at_k", "recall_top1pct", "recall_top1pct_max")


def rank_order(score: np.ndarray, ip: np.ndarray) -> np.ndarray:
    """Indices from most to least suspicious; ties broken by address."""
    return np.lexsort((ip, -score))


def rank_metrics(
    y: np.ndarray, score: np.ndarray, ip: np.ndarray, kind: np.ndarray
) -> dict[str, Any]:
    """Metrics of one ranking of one scenario.

    Parameters
    ----------
    y
        1 = adversary.
    score
        Higher = more suspicious.
    ip
        Addresses (tie-break).
    kind
        Ground-truth kind per origin (for the false-positive breakdown).

    Returns
    -------
    dict
        ``n``, ``n_adv``, ``ap``, ``p_at_k``, ``recall_top1pct``, ``fp_kinds`` (top-k).
    """
    n, k = len(y), int(y.sum())
    if k == 0:
        return {"n": n, "n_adv": 0, "ap": math.nan, "p_at_k": math.nan,
                "recall_top1pct": math.nan, "recall_top1pct_max": math.nan,
                "fp_kinds": {}}  # fmt: skip
    order = rank_order(score, ip)
    top = order[:k]
    top1 = order[: max(1, math.ceil(0.01 * n))]
    fp = Counter(str(x) for x in kind[top][y[top] == 0])
    return {
        "n": n, "n_adv": k,
        "ap": float(average_precision_score(y, score)),
        "p_at_k": float(y[top].mean()),
        "recall_top1pct": float(y[top1].sum() / k),
        # the best any ranking can do when the top 1% holds fewer slots than adversaries
        "recall_top1pct_max": float(min(len(top1), k) / k),
        "fp_kinds": dict(sorted(fp.items())),
    }  # fmt: skip


def pessimistic_order(y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Indices from most to least suspicious; ties put non-adversaries first (pessimistic)."""
    return np.lexsort((y, -score))


def pessimistic_ap(y: np.ndarray, score: np.ndarray, missing: int = 0) -> float:
    """Average precision with ties broken against the model and unseen adversaries as misses.

    Parameters
    ----------
    y
        1 = adversary, per scored origin.
    score
        Higher = more suspicious.
    missing
        Adversary origins absent from the scored table (never retrieved: they add to the
        denominator only).

    Returns
    -------
    float
        AP in [0, 1]; NaN without adversaries.
    """
    total = int(y.sum()) + int(missing)
    if total == 0:
        return math.nan
    ys = y[pessimistic_order(y, score)]
    hits = np.cumsum(ys)
    prec = hits / np.arange(1, len(ys) + 1)
    return float(prec[ys == 1].sum() / total)


def foreign_metrics(
    y: np.ndarray, score: np.ndarray, kind: np.ndarray, missing: int = 0,
    baselines: dict[str, np.ndarray] | None = None, rank: np.ndarray | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Metrics of one scenario from another generator, as its README defines them.

    Parameters
    ----------
    y
        1 = adversary, per scored origin.
    score
        The model's calibrated score per origin (higher = more suspicious).
    kind
        Ground-truth kind per origin (``benign:employee_home``, ...).
    missing
        Adversary origins of the answer key that the analysis did not output.
    baselines
        Other rankings of the same origins (name -> scores).
    rank
        The analysis's ``rank`` column (1 = first; ties of ``score`` broken by log-odds):
        adds ``ap_rank`` and ``p_at_k_rank``, the metrics of the order an analyst reads.

    Returns
    -------
    dict
        ``n``, ``n_adv`` (k, missing ones included), ``ap``, ``p_at_k``, ``fp_kinds`` (top k),
        ``top_score_share`` (share of origins at the maximum score), calibration and the
        baselines' ``ap``/``p_at_k``.
    """
    k = int(y.sum()) + int(missing)
    order = pessimistic_order(y, score)
    top = order[:k]
    fp = Counter(str(x) for x in kind[top][y[top] == 0])
    out: dict[str, Any] = {
        "n": len(y), "n_adv": k, "missing": int(missing),
        "ap": pessimistic_ap(y, score, missing),
        "p_at_k": float(y[top].sum() / k) if k else math.nan,
        "fp_kinds": dict(sorted(fp.items(), key=lambda kv: (-kv[1], kv[0]))),
        "top_score_share": float(np.mean(score == score.max())) if len(score) else math.nan,
        "n_at_top_score": int(np.sum(score == score.max())) if len(score) else 0,
        **calibration_metrics(y, score),
    }  # fmt: skip
    if rank is not None:
        ro = pessimistic_order(y, -rank.astype(float))
        out["ap_rank"] = pessimistic_ap(y, -rank.astype(float), missing)
        out["p_at_k_rank"] = float(y[ro[:k]].sum() / k) if k else math.nan
    for name, s in (baselines or {}).items():
        o = pessimistic_order(y, s)[:k]
        out[name] = {"ap": pessimistic_ap(y, s, missing),
                     "p_at_k": float(y[o].sum() / k) if k else math.nan}  # fmt: skip
    return out


def format_foreign(rows: list[dict[str, Any]]) -> str:
    """Plain-text table of per-scenario :func:`foreign_metrics` (``scenario`` key added)."""
    head = f"{'scenario':<22}{'origins':>8}{'adv':>5}{'AP':>7}{'P@k':>7}{'rankAP':>7}{'ECE':>7}"
    head += f"{'top=':>6}{'fail AP/P@k':>14}{'iforest AP/P@k':>16}  top-k false positives"
    lines = [head]
    for r in rows:
        base = "".join(
            f"{r[b]['ap']:>8.2f}/{r[b]['p_at_k']:<5.2f}" if b in r else f"{'-':>14}"
            for b in ("failed_signins", "isolation_forest")
        )  # fmt: skip
        fps = ", ".join(f"{kd.split(':', 1)[-1].replace('_', ' ')} {n}"
                        for kd, n in r["fp_kinds"].items())  # fmt: skip
        lines.append(f"{r['scenario']:<22}{r['n']:>8}{r['n_adv']:>5}{r['ap']:>7.2f}"
                     f"{r['p_at_k']:>7.2f}{r.get('ap_rank', math.nan):>7.2f}{r['ece']:>7.3f}"
                     f"{r['n_at_top_score']:>6}{base}"
                     f"  {fps or '-'}")  # fmt: skip
    if rows:
        m = {key: float(np.mean([r.get(key, math.nan) for r in rows]))
             for key in ("ap", "p_at_k", "ap_rank", "ece")}  # fmt: skip
        lines.append(f"{'mean':<35}{m['ap']:>7.2f}{m['p_at_k']:>7.2f}{m['ap_rank']:>7.2f}"
                     f"{m['ece']:>7.3f}")  # fmt: skip
    lines.append("AP, P@k: by score, ties broken against the model, missing adversaries count as "
                 "misses; rankAP: by the output's rank (score ties broken by log-odds); top= "
                 "origins sharing the top score; fail = rank by failed sign-ins; iforest = "
                 "IsolationForest over the model's features (per scenario)")  # fmt: skip
    return "\n".join(lines)


def calibration_metrics(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict[str, float]:
    """Brier score, expected calibration error (equal-width bins), mean score vs base rate."""
    p = np.clip(p, 0.0, 1.0)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(p[m].mean() - y[m].mean())
    return {
        "brier": float(np.mean((p - y) ** 2)), "ece": float(ece),
        "mean_score": float(p.mean()), "adversary_rate": float(y.mean()),
    }  # fmt: skip


def _cal_means(cal: pd.DataFrame) -> dict[str, Any]:
    out = {str(k): g.drop(columns="preset").mean().to_dict() for k, g in cal.groupby("preset")}
    out["all"] = cal.drop(columns="preset").mean().to_dict()
    return out


def isolation_scores(X: np.ndarray, seed: int = 0) -> np.ndarray:
    """IsolationForest anomaly score (higher = more anomalous), NaN filled by column median."""
    med = np.nanmedian(np.where(np.isnan(X).all(axis=0), 0.0, X), axis=0)
    Xf = np.where(np.isnan(X), med, X)
    Xf = np.nan_to_num(Xf)
    forest = IsolationForest(n_estimators=200, random_state=seed).fit(Xf)
    return np.asarray(-forest.score_samples(Xf))


def scenario_scores(model: Any, df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Scores of the model and the baselines for one scenario's labelled origins."""
    import warnings

    scored = model.score_origins(df)
    Xm = model._matrix(df, fitting=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN feature columns
        iso = isolation_scores(Xm)
    failed = (
        pd.to_numeric(df[FAILED_COLUMN], errors="coerce").fillna(0).to_numpy(float)
        if FAILED_COLUMN in df.columns else np.zeros(len(df))
    )  # fmt: skip
    return {
        "model": scored["score"].to_numpy(float)
        + 1e-9 * np.tanh(model.decision_function(df)),  # calibrated ties: log-odds order
        "failed_signins": failed,
        "isolation_forest": iso,
    }


def evaluate(model: Any, data: pd.DataFrame) -> dict[str, Any]:
    """Per-scenario, per-preset and overall metrics of the model and the baselines.

    Parameters
    ----------
    model
        A fitted :class:`~attrib.score.OriginScorer`.
    data
        Labelled origins (:func:`attrib.score.training.build_dataset`).

    Returns
    -------
    dict
        ``scenarios`` (list of per-scenario rows), ``presets`` and ``overall`` (means per
        method and metric), ``fp_kinds`` (model false positives in the top k, pooled).
    """
    rows, cal = [], []
    for sid, df in data.groupby("scenario", sort=True):
        df = df.reset_index(drop=True)
        ip = df["ip"].astype("string").fillna("").to_numpy(dtype=object)
        y = df["y"].to_numpy(int)
        kind = df["kind"].astype("string").fillna("unknown").to_numpy(dtype=object)
        scores = scenario_scores(model, df)
        cal.append({"preset": str(df["preset"].iloc[0]), **calibration_metrics(y, scores["model"])})
        for method, s in scores.items():
            m = rank_metrics(y, s, ip, kind)
            rows.append(
                {"scenario": sid, "preset": str(df["preset"].iloc[0]), "method": method, **m}
            )
    table = pd.DataFrame(rows)
    return {
        "scenarios": rows,
        "presets": _means(table, "preset"),
        "overall": _means(table.assign(all="all"), "all").get("all", {}),
        "calibration": _cal_means(pd.DataFrame(cal)),
        "fp_kinds": _fp_kinds(
            table[table["method"] == "model"],
            data.loc[data["y"] == 0, "kind"].astype("string").fillna("unknown").value_counts(),
        ),
    }


def _means(table: pd.DataFrame, by: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, g in table.groupby(by, sort=True):
        entry: dict[str, Any] = {
            "scenarios": int(g["scenario"].nunique()),
            "origins": int(g.loc[g["method"] == "model", "n"].sum()),
            "adversary": int(g.loc[g["method"] == "model", "n_adv"].sum()),
        }
        for method, gm in g.groupby("method", sort=False):
            entry[str(method)] = {m: float(gm[m].mean()) for m in _METRICS}
        best = max(entry[m]["ap"] for m in METHODS[1:] if m in entry)
        entry["ap_ratio_vs_best_baseline"] = entry["model"]["ap"] / best if best > 0 else math.inf
        # AP is capped at 1: also compare the shortfalls (1 - AP), i.e. ranking errors
        miss = 1.0 - entry["model"]["ap"]
        entry["ap_shortfall_ratio_best_baseline_vs_model"] = (
            (1.0 - best) / miss if miss > 1e-9 else math.inf
        )
        out[str(key)] = entry
    return out


def _fp_kinds(table: pd.DataFrame, present: pd.Series) -> dict[str, Any]:
    """Pooled top-k false positives per kind; every non-adversary kind present is listed."""
    total: Counter[str] = Counter()
    for d in table["fp_kinds"]:
        total.update(d)
    n_fp = sum(total.values())
    k = int(table["n_adv"].sum())
    kinds = sorted(set(present.index.astype(str)) | set(total), key=lambda x: (-total[x], x))
    return {
        "top_k_slots": k, "false_positives": n_fp,
        "by_kind": {kd: {"count": total[kd], "origins": int(present.get(kd, 0)),
                         "share_of_top_k": total[kd] / k if k else math.nan}
                    for kd in kinds},
    }  # fmt: skip


def format_report(res: dict[str, Any]) -> str:
    """Plain-text tables of an :func:`evaluate` result."""
    lines = [
        "per preset (mean over scenarios; AP / P@k / recall in top 1%); AP ratio = model AP / "
        "best baseline AP; 1-AP ratio = best baseline (1-AP) / model (1-AP)"
    ]
    head = f"{'preset':<14}{'scen':>5}{'origins':>9}{'adv':>6}  "
    head += "".join(f"{m:>28}" for m in METHODS) + f"{'AP ratio':>10}{'1-AP ratio':>11}"
    lines.append(head)
    for key, e in [*res["presets"].items(), ("ALL", res["overall"])]:
        ceiling = e["model"]["recall_top1pct_max"]
        cells = "".join(
            f"{e[m]['ap']:>10.3f}{e[m]['p_at_k']:>9.3f}{e[m]['recall_top1pct']:>9.3f}"
            if m in e else f"{'-':>28}"
            for m in METHODS
        )  # fmt: skip
        lines.append(f"{key:<14}{e['scenarios']:>5}{e['origins']:>9}{e['adversary']:>6}  "
                     f"{cells}{e['ap_ratio_vs_best_baseline']:>10.2f}"
                     f"{e['ap_shortfall_ratio_best_baseline_vs_model']:>11.1f}"
                     f"  (top-1% recall ceiling {ceiling:.3f})")  # fmt: skip
    lines.append("model calibration (mean over scenarios): preset, Brier, ECE, mean score, "
                 "adversary rate")  # fmt: skip
    for key, c in res.get("calibration", {}).items():
        lines.append(f"  {key:<14}{c['brier']:>8.4f}{c['ece']:>8.4f}{c['mean_score']:>8.3f}"
                     f"{c['adversary_rate']:>8.3f}")  # fmt: skip
    fk = res["fp_kinds"]
    lines.append(
        f"model false positives in the top k: {fk['false_positives']} of {fk['top_k_slots']} slots"
    )
    for kd, v in fk["by_kind"].items():
        lines.append(f"  {kd:<24}{v['count']:>6}  ({v['share_of_top_k']:.1%} of top-k slots; "
                     f"{v['origins']} such origins)")  # fmt: skip
    return "\n".join(lines)
