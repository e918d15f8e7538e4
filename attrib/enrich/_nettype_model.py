"""The network-type model: learned name tokens, then gradient-boosted trees over the evidence.

Two stages, both plain data:

1. **name stage** — a multinomial logistic regression over *learned* organisation-name tokens
   (words and character 4-grams of words seen in at least ``min_df`` names) and the registration
   country; it gives one probability per class;
2. **evidence stage** — gradient-boosted trees (scikit-learn ``HistGradientBoostingClassifier``)
   over the numeric evidence of :mod:`attrib.enrich._nettype_features` (address-space size and
   fragmentation, geographic spread per /24, registration, range coverage, list membership) and
   the name stage's probabilities (out-of-fold while training).

Saved as JSON with a sha256 beside it through the scorer's model-file mechanism
(:mod:`attrib._modelfile`): never pickled, checksum verified on load, structure validated.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from attrib._modelfile import read_verified, write_model
from attrib.enrich._nettype_features import LISTS, NUMERIC
from attrib.errors import ModelError

__all__: list[str] = []  # private module

FORMAT = "attrib-net-type"
SCHEMA_VERSION = 1
_WORD = re.compile(r"[^\W_]+")
_ASNUM = re.compile(r"^as\d+$")
_TREE_KEYS = ("feature", "threshold", "missing_left", "left", "right", "leaf", "value")


def name_tokens(org: str | None) -> set[str]:
    """Words (``w:``) and character 4-grams of words (``g:``) of an organisation name."""
    if not org:
        return set()
    s = unicodedata.normalize("NFKD", org.lower())
    s = "".join(c for c in s if not unicodedata.combining(c))
    words = [w for w in _WORD.findall(s) if len(w) > 1 and not w.isdigit() and not _ASNUM.match(w)]
    out = {f"w:{w}" for w in words}
    for w in words:
        if len(w) >= 4:
            p = f"<{w}>"
            out.update(f"g:{p[i : i + 4]}" for i in range(len(p) - 3))
    return out


def name_matrix(ev: pd.DataFrame, vocab: Sequence[str], countries: Sequence[str]) -> sp.csr_matrix:
    """Sparse indicators: vocabulary tokens of the name, then the registration country."""
    vmap = {t: i for i, t in enumerate(vocab)}
    cmap = {c: len(vocab) + i for i, c in enumerate(countries)}
    other = len(vocab) + len(countries)
    rows: list[int] = []
    cols: list[int] = []
    orgs = ev["org"].astype("string").fillna("").to_numpy(dtype=object)
    ccs = ev["whois_country"].astype("string").fillna("").to_numpy(dtype=object)
    for i, (org, cc) in enumerate(zip(orgs, ccs, strict=True)):
        ks = [vmap[t] for t in name_tokens(org) if t in vmap]
        ks.append(cmap.get(cc, other))
        rows += [i] * len(ks)
        cols += ks
    return sp.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(ev), other + 1), dtype=np.float64
    )


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def evidence_matrix(ev: pd.DataFrame, name_p: np.ndarray) -> np.ndarray:
    """Dense inputs of the evidence stage: numeric evidence, lists, name-stage probabilities."""
    num = np.column_stack([ev[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in NUMERIC])
    lists = np.column_stack([ev[c].to_numpy(dtype=np.float64) for c in LISTS])
    return np.hstack([num, lists, name_p])


@dataclass
class NetTypeModel:
    """Learned state of the network-type model (plain data)."""

    classes: list[str]
    vocab: list[str]
    countries: list[str]
    name_coef: np.ndarray  # (n_classes, n_vocab + n_countries + 1)
    name_intercept: np.ndarray
    baseline: np.ndarray  # (n_classes,)
    trees: list[list[dict[str, np.ndarray]]]  # per boosting iteration, one tree per class
    meta: dict[str, Any] = field(default_factory=dict)

    def name_proba(self, ev: pd.DataFrame) -> np.ndarray:
        """Name-stage class probabilities."""
        X = name_matrix(ev, self.vocab, self.countries)
        return softmax(np.asarray(X @ self.name_coef.T) + self.name_intercept)

    def predict_proba(self, ev: pd.DataFrame) -> np.ndarray:
        """Class probabilities for every row of an evidence table."""
        return self.evidence_proba(evidence_matrix(ev, self.name_proba(ev)))

    def evidence_proba(self, X: np.ndarray) -> np.ndarray:
        """Evidence-stage probabilities from its dense inputs."""
        raw = np.tile(self.baseline, (X.shape[0], 1))
        for it in self.trees:
            for k, t in enumerate(it):
                raw[:, k] += _tree_predict(t, X)
        return softmax(raw)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (floats rounded to 7 significant digits: same model, same bytes)."""

        def r(a: Any) -> list[float]:
            return [float(f"{v:.7g}") for v in np.asarray(a, dtype=np.float64).ravel()]

        def tree(t: dict[str, np.ndarray]) -> dict[str, list[Any]]:
            out: dict[str, list[Any]] = {}
            for key in _TREE_KEYS:
                v = t[key]
                out[key] = r(v) if key in ("threshold", "value") else [int(x) for x in v]
            return out

        return {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "classes": list(self.classes),
            "numeric": list(NUMERIC),
            "lists": list(LISTS),
            "vocab": list(self.vocab),
            "countries": list(self.countries),
            "name_coef": [r(row) for row in self.name_coef],
            "name_intercept": r(self.name_intercept),
            "baseline": r(self.baseline),
            "trees": [[tree(t) for t in it] for it in self.trees],
            "meta": self.meta,
        }

    def save(self, path: str | Path) -> str:
        """Write the model JSON and its ``.sha256``; return the checksum."""
        return write_model(self.to_dict(), path)


def _tree_predict(t: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """Leaf value per row (``x <= threshold`` goes left; NaN follows ``missing_left``)."""
    node = np.zeros(X.shape[0], dtype=np.int64)
    active = ~t["leaf"][node].astype(bool)
    while active.any():
        idx = np.flatnonzero(active)
        nd = node[idx]
        x = X[idx, t["feature"][nd]]
        go_left = np.where(np.isnan(x), t["missing_left"][nd].astype(bool), x <= t["threshold"][nd])
        node[idx] = np.where(go_left, t["left"][nd], t["right"][nd])
        active[idx] = ~t["leaf"][node[idx]].astype(bool)
    return np.asarray(t["value"][node], dtype=np.float64)


def trees_from_sklearn(clf: Any) -> tuple[np.ndarray, list[list[dict[str, np.ndarray]]]]:
    """Baseline and plain-array trees of a fitted ``HistGradientBoostingClassifier``."""
    if any(bool(p.nodes["is_categorical"].any()) for it in clf._predictors for p in it):
        raise ValueError("categorical splits are not supported in the saved model")
    trees = []
    for it in clf._predictors:
        row = []
        for p in it:
            n = p.nodes
            row.append({
                "feature": n["feature_idx"].astype(np.int64),
                "threshold": n["num_threshold"].astype(np.float64),
                "missing_left": n["missing_go_to_left"].astype(np.int64),
                "left": n["left"].astype(np.int64),
                "right": n["right"].astype(np.int64),
                "leaf": n["is_leaf"].astype(np.int64),
                "value": n["value"].astype(np.float64),
            })  # fmt: skip
        trees.append(row)
    base = np.asarray(clf._baseline_prediction, dtype=np.float64).ravel()
    if len(clf.classes_) == 2:  # binary: one logit tree per iteration -> softmax over [0, logit]
        zero: dict[str, np.ndarray] = {k: np.zeros(1, dtype=np.int64) for k in _TREE_KEYS}
        zero["leaf"] = np.ones(1, dtype=np.int64)
        zero["threshold"] = np.zeros(1)
        zero["value"] = np.zeros(1)
        trees = [[zero, it[0]] for it in trees]
        base = np.array([0.0, base[0]])
    return base, trees


def fit_vocab(
    ev: pd.DataFrame, *, min_df: int = 5, min_country: int = 30
) -> tuple[list[str], list[str]]:
    """Name vocabulary and registration countries learned from names (no labels used)."""
    df: Counter[str] = Counter()
    for org in ev["org"].astype("string").fillna("").to_numpy(dtype=object):
        df.update(name_tokens(org))
    cc = ev["whois_country"].astype("string").dropna().value_counts()
    return sorted(t for t, k in df.items() if k >= min_df), sorted(cc[cc >= min_country].index)


# -- loading --------------------------------------------------------------------------------------
def _arr(p: Path, name: str, v: Any, dtype: type = np.float64) -> np.ndarray:
    if not isinstance(v, list) or not all(isinstance(x, int | float) for x in v):
        raise ModelError(f"{p}: field {name!r} must be a list of numbers")
    a: np.ndarray = np.asarray(v, dtype=dtype)
    if not np.all(np.isfinite(a)):
        raise ModelError(f"{p}: field {name!r} holds non-finite numbers")
    return a


def _strings(p: Path, name: str, v: Any) -> list[str]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ModelError(f"{p}: field {name!r} must be a list of strings")
    return list(v)


def _tree(p: Path, doc: Any, n_inputs: int, where: str) -> dict[str, np.ndarray]:
    if not isinstance(doc, dict):
        raise ModelError(f"{p}: {where} is not a tree object")
    t = {k: _arr(p, f"{where}.{k}", doc.get(k), np.float64 if k in ("threshold", "value")
                 else np.int64) for k in _TREE_KEYS}  # fmt: skip
    n = t["leaf"].size
    if n == 0 or any(t[k].size != n for k in _TREE_KEYS):
        raise ModelError(f"{p}: {where} arrays differ in length")
    inner = t["leaf"] == 0
    for k in ("left", "right"):
        if np.any(inner & ((t[k] <= np.arange(n)) | (t[k] >= n))):
            raise ModelError(f"{p}: {where}.{k} points outside the tree")
    if np.any(inner & ((t["feature"] < 0) | (t["feature"] >= n_inputs))):
        raise ModelError(f"{p}: {where} splits on an unknown input")
    return t


def load_model(path: str | Path) -> NetTypeModel:
    """Load and validate a network-type model file (checksum verified).

    Raises
    ------
    attrib.errors.ModelError
        Missing file/checksum, mismatch, not JSON, or a malformed structure.
    """
    p = Path(path)
    doc, digest = read_verified(p)
    if doc.get("format") != FORMAT:
        raise ModelError(f"{p}: not an attrib network-type model (format {doc.get('format')!r})")
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise ModelError(
            f"{p}: network-type model schema {doc.get('schema_version')!r} unsupported"
        )
    if doc.get("numeric") != list(NUMERIC) or doc.get("lists") != list(LISTS):
        raise ModelError(f"{p}: model evidence columns differ from this attrib's; rebuild it")
    classes = _strings(p, "classes", doc.get("classes"))
    vocab = _strings(p, "vocab", doc.get("vocab"))
    countries = _strings(p, "countries", doc.get("countries"))
    k, width = len(classes), len(vocab) + len(countries) + 1
    coef_doc = doc.get("name_coef")
    if not isinstance(coef_doc, list) or len(coef_doc) != k:
        raise ModelError(f"{p}: field 'name_coef' must hold one row per class")
    rows = [_arr(p, f"name_coef[{i}]", row) for i, row in enumerate(coef_doc)]
    for i, row in enumerate(rows):
        if row.size != width:
            raise ModelError(f"{p}: name_coef[{i}] has {row.size} columns, expected {width}")
    coef = np.vstack(rows)
    icpt = _arr(p, "name_intercept", doc.get("name_intercept"))
    base = _arr(p, "baseline", doc.get("baseline"))
    if icpt.size != k or base.size != k:
        raise ModelError(f"{p}: intercept/baseline must hold one value per class")
    n_inputs = len(NUMERIC) + len(LISTS) + k
    trees_doc = doc.get("trees")
    if not isinstance(trees_doc, list) or not all(isinstance(i, list) and len(i) == k
                                                  for i in trees_doc):  # fmt: skip
        raise ModelError(f"{p}: field 'trees' must hold one tree per class per iteration")
    trees = [[_tree(p, t, n_inputs, f"trees[{i}][{j}]") for j, t in enumerate(it)]
             for i, it in enumerate(trees_doc)]  # fmt: skip
    meta = doc.get("meta") if isinstance(doc.get("meta"), dict) else {}
    return NetTypeModel(classes, vocab, countries, coef, icpt, base, trees,
                        {**(meta or {}), "sha256": digest, "file": p.name})  # fmt: skip
