"""The additive core of :class:`attrib.score.OriginScorer`: binned features, logistic weights.

Every feature is cut into bins (quantile cut points learned from the training data, or the
midpoints between its values when it has few of them) plus a "missing" slot. A logistic
regression over the one-hot bins gives one weight per bin, so the model's logit is a *sum of
per-feature terms* — a generalised additive model. That makes explanations exact: the
contribution of a feature to an origin's logit is its bin weight minus that feature's mean
weight over the training origins, and the contributions plus the base logit add up to the
logit exactly. Calibration (isotonic or sigmoid) is a monotone map from logit to probability,
so it never changes the order of origins.

All state is plain numbers (arrays of floats), so a model is saved as JSON — never pickled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

__all__: list[str] = []  # private module

_FloatArray = np.ndarray


@dataclass
class AdditiveModel:
    """Learned state of the additive model (plain arrays).

    Attributes
    ----------
    features
        Model input columns, in order.
    edges
        Per feature, sorted interior cut points; a value ``x`` falls in bin
        ``searchsorted(edges, x, side="right")``.
    weights
        Per feature, one weight per bin (``len(edges) + 1``), centred so that the mean
        training contribution of each feature is 0.
    missing
        Per feature, the centred weight of a missing value.
    base
        Base logit: the logit of an origin whose every contribution is 0.
    calibration
        ``{"method": "isotonic", "x": [...], "y": [...]}``,
        ``{"method": "sigmoid", "a": a, "b": b}`` or ``{"method": "none"}``.
    """

    features: list[str]
    edges: list[_FloatArray]
    weights: list[_FloatArray]
    missing: _FloatArray
    base: float
    calibration: dict[str, object] = field(default_factory=lambda: {"method": "none"})

    def bin_index(self, X: _FloatArray) -> np.ndarray:
        """Bin of every value; ``-1`` for a missing value."""
        idx = np.empty(X.shape, dtype=np.int64)
        for j, e in enumerate(self.edges):
            col = X[:, j]
            b = np.searchsorted(e, col, side="right")
            b[np.isnan(col)] = -1
            idx[:, j] = b
        return idx

    def contributions(self, X: _FloatArray) -> _FloatArray:
        """Per-feature contribution to the logit, shape ``(n, n_features)``."""
        out = np.empty(X.shape, dtype=np.float64)
        for j, (e, w) in enumerate(zip(self.edges, self.weights, strict=True)):
            col = X[:, j]
            nan = np.isnan(col)
            b = np.searchsorted(e, col, side="right")
            b[nan] = 0
            c = w[b]
            c[nan] = self.missing[j]
            out[:, j] = c
        return out

    def logit(self, X: _FloatArray) -> _FloatArray:
        """Uncalibrated log-odds: base + sum of contributions."""
        return self.base + self.contributions(X).sum(axis=1)

    def calibrate(self, z: _FloatArray) -> _FloatArray:
        """Map logits to calibrated probabilities in [0, 1]."""
        cal = self.calibration
        method = cal.get("method", "none")
        if method == "isotonic":
            x = np.asarray(cal["x"], dtype=np.float64)
            y = np.asarray(cal["y"], dtype=np.float64)
            p = np.interp(z, x, y)
        elif method == "sigmoid":
            a = float(cal["a"])  # type: ignore[arg-type]
            b = float(cal["b"])  # type: ignore[arg-type]
            p = _expit(a * z + b)
        else:
            p = _expit(z)
        return np.clip(p, 0.0, 1.0)


def _expit(z: _FloatArray) -> _FloatArray:
    out: _FloatArray = 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))
    return out


def learn_edges(col: _FloatArray, n_bins: int) -> _FloatArray:
    """Interior cut points for one feature.

    With at most ``n_bins`` distinct values, the cut points are the midpoints between them
    (every value its own bin). Otherwise they are the distinct inner quantiles, each moved
    to the midpoint between the two observed values it separates, so a cut point never
    coincides with a value seen in training.
    """
    v = col[~np.isnan(col)]
    if v.size == 0:
        return np.empty(0, dtype=np.float64)
    uniq = np.unique(v)
    if uniq.size <= n_bins:
        return (uniq[:-1] + uniq[1:]) / 2.0
    qs = np.quantile(v, np.linspace(0.0, 1.0, n_bins + 1)[1:-1], method="lower")
    qs = np.unique(qs)
    pos = np.searchsorted(uniq, qs)  # index of each quantile in uniq
    pos = pos[pos < uniq.size - 1]
    return np.unique((uniq[pos] + uniq[pos + 1]) / 2.0)


def _design(X: _FloatArray, edges: list[_FloatArray]) -> tuple[sp.csr_matrix, np.ndarray]:
    """One-hot design matrix (bins + missing slot per feature) and column offsets."""
    n, p = X.shape
    sizes = np.array([len(e) + 2 for e in edges], dtype=np.int64)  # bins + missing
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    cols = np.empty((n, p), dtype=np.int64)
    for j, e in enumerate(edges):
        col = X[:, j]
        b = np.searchsorted(e, col, side="right")
        b[np.isnan(col)] = len(e) + 1
        cols[:, j] = offsets[j] + b
    rows = np.repeat(np.arange(n), p)
    data = np.ones(n * p, dtype=np.float64)
    m = sp.csr_matrix((data, (rows, cols.ravel())), shape=(n, int(sizes.sum())))
    return m, offsets


def fit_additive(
    X: _FloatArray,
    y: np.ndarray,
    features: list[str],
    *,
    n_bins: int,
    C: float,
    class_weight: str | None,
    max_iter: int = 2000,
) -> AdditiveModel:
    """Fit the binned logistic model (uncalibrated) and centre its weights.

    Parameters
    ----------
    X
        Float matrix, NaN for missing values.
    y
        0/1 labels.
    features
        Column names of ``X``.
    n_bins, C, class_weight
        Bins per feature, inverse L2 strength, class weighting (``"balanced"`` or None).
    max_iter
        Solver iterations.

    Returns
    -------
    AdditiveModel
        With ``calibration = {"method": "none"}``.
    """
    edges = [learn_edges(X[:, j], n_bins) for j in range(X.shape[1])]
    D, offsets = _design(X, edges)
    lr = LogisticRegression(C=C, class_weight=class_weight, max_iter=max_iter, solver="lbfgs")
    lr.fit(D, y)
    coef = lr.coef_.ravel()
    weights: list[_FloatArray] = []
    missing = np.empty(len(edges), dtype=np.float64)
    base = float(lr.intercept_[0])
    seen = np.asarray(D.sum(axis=0)).ravel()
    for j, e in enumerate(edges):
        w = coef[offsets[j] : offsets[j] + len(e) + 2]
        cnt = seen[offsets[j] : offsets[j] + len(e) + 2]
        mean = float(np.dot(w, cnt) / max(cnt.sum(), 1.0))
        base += mean
        wj = w - mean
        # a missing value never seen in training carries no evidence either way
        missing[j] = wj[-1] if cnt[-1] > 0 else 0.0
        weights.append(wj[:-1].copy())
    return AdditiveModel(list(features), edges, weights, missing, base)


def fit_calibration(z: _FloatArray, y: np.ndarray, method: str) -> dict[str, object]:
    """Learn a monotone map from held-out logits ``z`` to probabilities.

    Parameters
    ----------
    z
        Out-of-fold logits.
    y
        0/1 labels.
    method
        ``"isotonic"``, ``"sigmoid"`` or ``"none"``.

    Returns
    -------
    dict
        Plain-data calibration (see :class:`AdditiveModel`).
    """
    if method == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(z, y)
        return {
            "method": "isotonic",
            "x": [float(v) for v in iso.X_thresholds_],
            "y": [float(v) for v in iso.y_thresholds_],
        }
    if method == "sigmoid":
        lr = LogisticRegression(C=1e6, max_iter=1000)
        lr.fit(z.reshape(-1, 1), y)
        return {"method": "sigmoid", "a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}
    return {"method": "none"}
