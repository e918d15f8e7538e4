"""Validation on labelled scenarios from other generators (``attrib evaluate --foreign``).

A folder of scenarios, each holding the logs an organisation would have (``zeek/``,
``signin/``, ... — every sub-folder is an input) and an answer key ``labels.json.gz``
(``adversary``: ip -> ``{campaign, role}``; ``kinds``: ip -> ``benign:<kind>`` or
``confounder:<kind>``). Each scenario is analysed exactly as a user would run
``attrib analyze DIR/zeek DIR/signin`` (default context inference, no per-scenario
configuration); only then is the answer key read, to score the ranking. The analysis never
sees the answer key.

The feature tables of an analysis are cached in a work folder, keyed by the pipeline's source
code, so evaluating another model on the same scenarios only re-scores.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from attrib.errors import InputError, UnreadableFileError

__all__ = ["LABELS_FILE", "evaluate_foreign", "find_scenarios", "load_labels"]

logger = logging.getLogger(__name__)

#: The answer key of a foreign scenario (read only after the analysis).
LABELS_FILE = "labels.json.gz"
_SCORE_COLUMNS = ("score", "rank", "reasons", "reasons_json", "counter_evidence")
# (token_abuse_score is a feature-stage column and stays)


def find_scenarios(root: str | os.PathLike[str]) -> list[Path]:
    """Scenario folders under ``root`` (``root`` itself when it holds an answer key).

    Parameters
    ----------
    root
        A scenario folder or a folder of them.

    Returns
    -------
    list of Path
        Sorted by name.
    """
    r = Path(root)
    if not r.is_dir():
        raise InputError(f"{r}: not a folder of scenarios")
    if (r / LABELS_FILE).exists():
        return [r]
    found = sorted(p for p in r.iterdir() if p.is_dir() and (p / LABELS_FILE).exists())
    if not found:
        raise InputError(f"{r}: no scenario folder with {LABELS_FILE}")
    return found


def load_labels(folder: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The answer key: adversary ip -> info, and ip -> kind of the other origins."""
    path = folder / LABELS_FILE
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise UnreadableFileError(f"{path}: cannot read answer key ({exc})") from None
    adv = data.get("adversary")
    kinds = data.get("kinds")
    if not isinstance(adv, dict) or not isinstance(kinds, dict):
        raise InputError(f"{path}: expected 'adversary' and 'kinds' objects")
    return adv, {str(k): str(v) for k, v in kinds.items()}


def _inputs(folder: Path) -> list[Path]:
    """What a user would pass to ``attrib analyze``: the scenario's log folders."""
    subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    if not subs:
        raise InputError(f"{folder}: no log folders (zeek/, signin/, ...)")
    return subs


def _failed_signins(inputs: list[Path]) -> pd.Series:
    """Failed sign-ins per source address (the failed-sign-in baseline; never a feature)."""
    from attrib.io import read

    ev = read(inputs, skip_unreadable=True)
    return ev.loc[ev["outcome"] == "failure", "src_ip"].astype("string").value_counts()


def _features(
    folder: Path, workdir: Path | None, use_cache: bool, model_file: str | os.PathLike[str] | None
) -> pd.DataFrame:
    """Analyse one scenario as a user would; return its origins without scores (cached)."""
    from attrib.pipeline.run import analyze
    from attrib.score.training import pipeline_key

    cache = None
    if workdir is not None:
        cache = workdir / f"{folder.name}-origins-{pipeline_key()}.parquet"
        if use_cache and cache.exists():
            return pd.read_parquet(cache)
    inputs = _inputs(folder)
    logger.info("analysing %s", folder.name)
    a = analyze(inputs, model=model_file, keep_events=False, progress=False)
    origins = a.origins.drop(columns=[c for c in _SCORE_COLUMNS if c in a.origins.columns])
    failed = _failed_signins(inputs)
    origins["baseline_failed_signins"] = (
        origins["ip"].astype("string").map(failed).fillna(0).astype("float64")
    )
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        origins.to_parquet(cache, index=False)
    return origins


def _baselines(model: Any, origins: pd.DataFrame) -> dict[str, np.ndarray]:
    from attrib.score.evaluate import isolation_scores

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN feature columns
        iso = isolation_scores(model._matrix(origins, fitting=False))
    return {
        "failed_signins": origins["baseline_failed_signins"].to_numpy(float),
        "isolation_forest": iso,
    }


def evaluate_foreign(
    root: str | os.PathLike[str],
    model: Any,
    *,
    model_file: str | os.PathLike[str] | None = None,
    workdir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
) -> list[dict[str, Any]]:
    """Analyse every scenario under ``root`` as a user would, then score it against its key.

    Parameters
    ----------
    root
        A scenario folder or a folder of them (see :func:`find_scenarios`).
    model
        A fitted :class:`~attrib.score.OriginScorer` (scores the origins).
    model_file
        The model file ``attrib analyze --model`` is run with (default: the shipped one).
    workdir
        Cache folder for the feature tables (none: analyse every time).
    use_cache
        Reuse cached feature tables built by the same pipeline code.

    Returns
    -------
    list of dict
        One :func:`attrib.score.evaluate.foreign_metrics` row per scenario, with ``scenario``.
    """
    from attrib.features.tokens import apply_token_evidence
    from attrib.score.evaluate import foreign_metrics

    wd = Path(workdir) if workdir is not None else None
    rows = []
    for folder in find_scenarios(root):
        origins = _features(folder, wd, use_cache, model_file)
        # the same scoring as ``analyze``: the model, then the token-abuse evidence merge
        scored = apply_token_evidence(model.score_origins(origins))
        adv, kinds = load_labels(folder)  # only now: the analysis never saw the key
        ip = scored["ip"].astype("string").fillna("")
        y = ip.isin(list(adv)).to_numpy(int)
        kind = ip.map(kinds).fillna("unknown").to_numpy(dtype=object)
        kind[y == 1] = "adversary"
        missing = len(set(adv) - set(ip))
        m = foreign_metrics(y, scored["score"].to_numpy(float), kind, missing,
                            baselines=_baselines(model, origins),
                            rank=scored["rank"].to_numpy(float))  # fmt: skip
        rows.append({"scenario": folder.name, **m})
    return rows
