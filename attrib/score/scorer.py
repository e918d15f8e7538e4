"""Scoring: rank origins by calibrated suspicion, with exact per-feature reasons.

:class:`OriginScorer` is a scikit-learn classifier over the origin features of
:mod:`attrib.features` plus cluster-context features (cluster size, short-lived residential
peers in the cluster, origins sharing a TLS fingerprint). The model is *additive*: every
feature is binned and each bin carries one logistic weight, so an origin's log-odds is the
base plus one contribution per feature — its explanation is exact, not approximated. The
log-odds are calibrated to probabilities (Platt sigmoid by default) on held-out folds; when
``groups`` (scenario ids) are given to :meth:`OriginScorer.fit`, whole scenarios are held
out, so calibration is measured on scenarios the weights never saw.

>>> scored = attrib.load_model().score_origins(origins)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import assert_all_finite, check_is_fitted, column_or_1d, validate_data

from attrib._paths import default_models_dir
from attrib.errors import ModelError
from attrib.score._context import CONTEXT_COLUMNS, CONTEXT_DESCRIPTIONS, NOT_INPUTS, context_frame
from attrib.score._explain import counter_arrays, detail_texts, explain_arrays
from attrib.score._io import (
    FORMAT,
    SCHEMA_VERSION,
    model_from_dict,
    model_to_dict,
    read_verified,
    write_model,
)
from attrib.score._model import AdditiveModel, fit_additive, fit_calibration

__all__ = ["MODEL_NAME", "MODEL_VERSION", "OriginScorer", "load_model", "model_path"]

logger = logging.getLogger(__name__)

#: Version of the shipped model (bumped when it is retrained with other data or features).
MODEL_VERSION = "1.3.0"
#: Counter-evidence items per origin at most: the strongest feature that lowered its score
#: (one keeps scoring within twice 1.1.0's cost; see docs/scoring.md).
COUNTER_TOP = 1
#: File name of the shipped model in ``models/``.
MODEL_NAME = f"attrib-scorer-{MODEL_VERSION}.json"

# columns that identify or describe an origin but must never be learned from (memorising
# addresses, networks or places instead of behaviour)
_NEVER_FEATURES = frozenset(
    {
        "ip",
        "score",
        "rank",
        "cluster",
        "asn",
        "lat",
        "lon",
        "label",
        "y",
        "seed",
        "baseline_failed_signins",
    }
)


def _feature_catalogue() -> tuple[tuple[str, ...], dict[str, str]]:
    """FEATURE_COLUMNS and FEATURE_DESCRIPTIONS of :mod:`attrib.features`, when available."""
    try:
        from attrib import features as f
    except ImportError:  # pragma: no cover - features package always ships
        return (), {}
    cols = tuple(c for c in getattr(f, "FEATURE_COLUMNS", ()) if c not in NOT_INPUTS)
    desc = dict(getattr(f, "FEATURE_DESCRIPTIONS", {}))
    return cols, desc


def model_path(models_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of the shipped model file.

    Parameters
    ----------
    models_dir
        Folder holding models (default: the repository's ``models/``).

    Returns
    -------
    pathlib.Path
        ``<models_dir>/attrib-scorer-<version>.json``.
    """
    return Path(models_dir or default_models_dir()) / MODEL_NAME


class OriginScorer(ClassifierMixin, BaseEstimator):
    """Additive, calibrated, explainable classifier of suspicious origins.

    Parameters
    ----------
    features
        Model input columns. ``None``: with a DataFrame, the feature columns of
        :mod:`attrib.features` present in it plus the cluster-context columns; with an
        array, every column.
    n_bins
        Bins per feature (quantile cut points; fewer when a feature has few values).
    C
        Inverse L2 regularisation strength of the logistic weights.
    class_weight
        ``"balanced"`` (adversary origins are rare) or ``None``.
    calibration
        ``"sigmoid"`` (Platt: continuous and strictly increasing, so scores stay untied at
        the top), ``"isotonic"`` or ``"none"``.
    cv
        Folds for out-of-fold calibration (whole groups per fold when ``groups`` is given).
    context
        Add cluster-context features to DataFrame inputs.
    top
        Reasons per origin.
    min_contribution
        A feature is a reason only when it raises the log-odds by more than this.

    Attributes
    ----------
    model_ : AdditiveModel
        Bins, weights, base log-odds and calibration table (plain arrays).
    features_ : list of str
        Model input columns in order.
    classes_ : ndarray
        The two class labels; the second is the suspicious class.
    descriptions_ : dict
        Feature -> analyst phrase template used in reasons.
    metadata_ : dict
        Training provenance (scenarios, seeds, metrics) saved with the model.
    version_ : str
        Model version.
    model_id_ : str
        ``attrib-scorer-<version>+<sha256 prefix>`` for a model loaded from a file (what
        ``run.json`` records).
    """

    def __init__(
        self,
        features: Sequence[str] | None = None,
        n_bins: int = 10,
        C: float = 0.3,
        class_weight: str | None = "balanced",
        calibration: str = "sigmoid",
        cv: int = 5,
        context: bool = True,
        top: int = 3,
        min_contribution: float = 0.05,
    ) -> None:
        self.features = features
        self.n_bins = n_bins
        self.C = C
        self.class_weight = class_weight
        self.calibration = calibration
        self.cv = cv
        self.context = context
        self.top = top
        self.min_contribution = min_contribution

    def __sklearn_tags__(self) -> Any:  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        return tags

    # -- inputs ------------------------------------------------------------------------
    def _select(self, frame: pd.DataFrame) -> list[str]:
        if self.features is not None:
            return list(self.features)
        catalogue, _ = _feature_catalogue()
        ctx = list(CONTEXT_COLUMNS) if self.context else []
        known = [c for c in catalogue if c in frame.columns]
        if known:
            return known + [c for c in ctx if c not in known]
        numeric = [
            c for c in frame.columns
            if c not in _NEVER_FEATURES and c not in CONTEXT_COLUMNS
            and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        ]  # fmt: skip
        return [str(c) for c in numeric] + ctx

    def _matrix(self, X: Any, *, fitting: bool) -> np.ndarray:
        """Float matrix of the model columns (NaN = missing)."""
        if isinstance(X, pd.DataFrame) and not _all_numeric(X):
            ctx = context_frame(X) if self.context else pd.DataFrame(index=X.index)
            if fitting:
                self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
                self.n_features_in_ = X.shape[1]
                self.features_ = self._select(X.assign(**{str(c): s for c, s in ctx.items()}))
            missing = [c for c in self.features_ if c not in X.columns and c not in ctx.columns]
            if missing:
                raise ModelError(
                    f"origins table lacks {len(missing)} model feature(s): "
                    f"{', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}"
                )
            out = np.empty((len(X), len(self.features_)), dtype=np.float64)
            for j, c in enumerate(self.features_):
                out[:, j] = _as_float(ctx[c] if c in ctx.columns else X[c])
            return out
        arr = validate_data(self, X, reset=fitting, ensure_all_finite="allow-nan", dtype=np.float64)
        if fitting:
            names = getattr(self, "feature_names_in_", None)
            self.features_ = (
                [str(n) for n in names] if names is not None
                else [f"x{i}" for i in range(arr.shape[1])]
            )  # fmt: skip
        return np.asarray(arr, dtype=np.float64)

    # -- fitting -----------------------------------------------------------------------
    def fit(self, X: Any, y: Any, groups: Any = None) -> OriginScorer:
        """Learn bins, weights and the calibration table.

        Parameters
        ----------
        X
            Origins table (DataFrame) or a numeric matrix.
        y
            Binary labels; the larger label (e.g. 1 / True) is the suspicious class.
        groups
            Optional group per row (e.g. scenario id): calibration then holds out whole
            groups, so it is fitted on logits of scenarios the weights did not see.

        Returns
        -------
        OriginScorer
            self.
        """
        if y is None:
            raise ValueError("OriginScorer requires y to be passed, but the target y is None")
        Xm = self._matrix(X, fitting=True)
        yv = column_or_1d(y, warn=True)
        if yv.dtype.kind == "f":
            assert_all_finite(yv, input_name="y")
        if yv.shape[0] != Xm.shape[0]:
            raise ValueError(f"y has {yv.shape[0]} labels for {Xm.shape[0]} rows")
        check_classification_targets(yv)
        y_type = type_of_target(yv, input_name="y")
        self.classes_ = np.unique(yv)
        if y_type != "binary" or self.classes_.size != 2:
            raise ValueError(
                "Only binary classification is supported (suspicious vs not); the type of "
                f"the target is {y_type} with {self.classes_.size} class(es)."
            )
        y01 = (yv == self.classes_[1]).astype(np.int64)
        self.model_ = self._fit_core(Xm, y01)
        self.model_.calibration = self._calibrate(Xm, y01, groups)
        _, desc = _feature_catalogue()
        self.descriptions_ = {
            f: t for f, t in {**desc, **CONTEXT_DESCRIPTIONS}.items() if f in self.features_
        }
        self.metadata_: dict[str, Any] = {
            "features_sha256": hashlib.sha256(",".join(self.features_).encode()).hexdigest(),
        }
        self.version_ = MODEL_VERSION
        return self

    def _fit_core(self, Xm: np.ndarray, y01: np.ndarray) -> AdditiveModel:
        return fit_additive(
            Xm, y01, self.features_, n_bins=self.n_bins, C=self.C, class_weight=self.class_weight
        )

    def _calibrate(self, Xm: np.ndarray, y01: np.ndarray, groups: Any) -> dict[str, object]:
        if self.calibration == "none":
            return {"method": "none"}
        n_pos = int(y01.sum())
        if groups is not None:
            g = np.asarray(groups)
            n_splits = min(self.cv, np.unique(g).size)
            splitter: Any = GroupKFold(n_splits=n_splits) if n_splits >= 2 else None
        else:
            g = None
            n_splits = min(self.cv, n_pos, y01.size - n_pos)
            splitter = StratifiedKFold(n_splits=n_splits) if n_splits >= 2 else None
        if splitter is None:
            logger.warning("too few groups/positives for held-out calibration; using logistic link")
            return {"method": "none"}
        oof = np.full(y01.size, np.nan)
        for tr, te in splitter.split(Xm, y01, g):
            if np.unique(y01[tr]).size < 2:
                continue
            oof[te] = self._fit_core(Xm[tr], y01[tr]).logit(Xm[te])
        ok = ~np.isnan(oof)
        if np.unique(y01[ok]).size < 2:
            return {"method": "none"}
        return fit_calibration(oof[ok], y01[ok], self.calibration)

    # -- prediction --------------------------------------------------------------------
    def decision_function(self, X: Any) -> np.ndarray:
        """Uncalibrated log-odds of the suspicious class (the ranking key).

        Parameters
        ----------
        X
            Origins table or numeric matrix.

        Returns
        -------
        numpy.ndarray
            One value per row.
        """
        check_is_fitted(self, "model_")
        return self.model_.logit(self._matrix(X, fitting=False))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated probabilities ``[P(benign), P(suspicious)]`` per row.

        Parameters
        ----------
        X
            Origins table or numeric matrix.

        Returns
        -------
        numpy.ndarray
            Shape ``(n, 2)``.
        """
        z = self.decision_function(X)
        p = self.model_.calibrate(z)
        return np.column_stack([1.0 - p, p])

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of :meth:`predict_proba`.

        Parameters
        ----------
        X
            Origins table or numeric matrix.

        Returns
        -------
        numpy.ndarray
            Shape ``(n, 2)``; ``-inf`` where a probability is 0.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """Class label per row (suspicious when the calibrated score is at least 0.5).

        Parameters
        ----------
        X
            Origins table or numeric matrix.

        Returns
        -------
        numpy.ndarray
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)[:, 1]
        return np.asarray(self.classes_[(proba >= 0.5).astype(int)])

    # -- explanation -------------------------------------------------------------------
    def contributions(self, origins: Any) -> pd.DataFrame:
        """Exact per-feature contributions to each origin's log-odds.

        The row sums plus ``model_.base`` equal :meth:`decision_function`.

        Parameters
        ----------
        origins
            Origins table or numeric matrix.

        Returns
        -------
        pandas.DataFrame
            One column per model feature.
        """
        check_is_fitted(self, "model_")
        Xm = self._matrix(origins, fitting=False)
        idx = origins.index if isinstance(origins, pd.DataFrame) else None
        return pd.DataFrame(self.model_.contributions(Xm), columns=self.features_, index=idx)

    def _explain_rows(
        self, Xm: np.ndarray, top: int, contrib: np.ndarray | None = None, frame: Any = None
    ) -> tuple[list[str], list[str]]:
        c = self.model_.contributions(Xm) if contrib is None else contrib
        rows = detail_texts(frame) if isinstance(frame, pd.DataFrame) else None
        return explain_arrays(
            c, Xm, self.features_, self.descriptions_, top=top,
            min_contribution=self.min_contribution, row_texts=rows,
        )  # fmt: skip

    def explain(self, origins: pd.DataFrame, top: int = 3) -> pd.DataFrame:
        """The features that raised each origin's score most, one row per reason.

        Parameters
        ----------
        origins
            Origins table.
        top
            Reasons per origin at most.

        Returns
        -------
        pandas.DataFrame
            ``ip``, ``order`` (1 = strongest), ``feature``, ``value``, ``contribution``
            (log-odds), ``text``.
        """
        import json

        check_is_fitted(self, "model_")
        Xm = self._matrix(origins, fitting=False)
        _, rj = self._explain_rows(Xm, top, frame=origins)
        ips = origins["ip"].astype("string").tolist() if "ip" in origins.columns else None
        rows = []
        for i, items in enumerate(rj):
            for k, item in enumerate(json.loads(items), start=1):
                rows.append({"ip": ips[i] if ips else i, "order": k, **item})
        cols = ["ip", "order", "feature", "value", "contribution", "text"]
        return pd.DataFrame(rows, columns=cols)

    def score_origins(self, origins: pd.DataFrame) -> pd.DataFrame:
        """Add ``score``, ``rank``, ``reasons`` and ``reasons_json`` to an origins table.

        Parameters
        ----------
        origins
            One row per origin with the model's feature columns (context columns are
            computed from ``cluster``/``net_type``/``first_seen``/``last_seen``).

        Returns
        -------
        pandas.DataFrame
            A new frame: calibrated ``score`` in [0, 1]; ``rank`` 1 = most suspicious (ties
            broken by the uncalibrated log-odds, then by ``ip``); ``reasons`` (evidence
            toward suspicion, sentences joined by ``"; "``); ``counter_evidence`` (what
            lowered the score most, e.g. "12 of the organisation's accounts sign in from here
            routinely"); ``reasons_json`` (JSON list of ``{feature, value, contribution,
            text}``: the reasons, then the counter-evidence items, which carry
            ``"direction": "against"`` and a negative contribution).
        """
        check_is_fitted(self, "model_")
        Xm = self._matrix(origins, fitting=False)
        contrib = self.model_.contributions(Xm)
        z = self.model_.base + contrib.sum(axis=1)
        p = self.model_.calibrate(z)
        ip = (origins["ip"].astype("string").fillna("").to_numpy(dtype=object)
              if "ip" in origins.columns else np.arange(len(origins)))  # fmt: skip
        order = np.lexsort((ip, -z, -p))
        rank = np.empty(len(p), dtype=np.int64)
        rank[order] = np.arange(1, len(p) + 1)
        reasons, rjson = self._explain_rows(Xm, self.top, contrib, frame=origins)
        counter, cjson = counter_arrays(
            contrib, Xm, self.features_, self.descriptions_, top=min(self.top, COUNTER_TOP),
            min_contribution=self.min_contribution,
        )  # fmt: skip
        out = origins.copy()
        out["score"] = p
        out["rank"] = pd.array(rank, dtype="Int64")
        out["reasons"] = pd.array(reasons, dtype="string")
        out["counter_evidence"] = pd.array(counter, dtype="string")
        out["reasons_json"] = pd.array(_join_json(rjson, cjson), dtype="string")
        return out

    # -- persistence -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-data form of the fitted model (what :meth:`save` writes).

        Returns
        -------
        dict
            JSON-serialisable.
        """
        check_is_fitted(self, "model_")
        return {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "version": self.version_,
            "params": self.get_params(deep=False) | {"features": list(self.features_)},
            "classes": [_plain(c) for c in self.classes_],
            "descriptions": dict(sorted(self.descriptions_.items())),
            "metadata": self.metadata_,
            **model_to_dict(self.model_),
        }

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write the model as JSON plus ``<path>.sha256``, atomically.

        Parameters
        ----------
        path
            Target ``.json`` file.

        Returns
        -------
        str
            The sha256 of the written file.
        """
        return write_model(self.to_dict(), path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> OriginScorer:
        """Load a model saved with :meth:`save`, verifying its checksum and structure.

        Parameters
        ----------
        path
            The model ``.json``; ``<path>.sha256`` must sit beside it.

        Returns
        -------
        OriginScorer
            Fitted.

        Raises
        ------
        ModelError
            Missing, tampered (checksum), pickled, malformed or incompatible file.
        """
        doc, digest = read_verified(path)
        model = model_from_dict(doc, path)
        params = doc.get("params")
        classes = doc.get("classes")
        if not isinstance(params, dict) or not isinstance(classes, list) or len(classes) != 2:
            raise ModelError(f"{path}: fields 'params' and 'classes' are malformed")
        valid = set(cls().get_params())
        est = cls(**{k: v for k, v in params.items() if k in valid})
        est.model_ = model
        est.features_ = list(model.features)
        est.classes_ = np.asarray(classes)
        desc = doc.get("descriptions", {})
        est.descriptions_ = (
            {str(k): str(v) for k, v in desc.items()} if isinstance(desc, Mapping) else {}
        )
        meta = doc.get("metadata", {})
        est.metadata_ = meta if isinstance(meta, dict) else {}
        est.version_ = str(doc.get("version", "unknown"))
        est.model_id_ = f"attrib-scorer-{est.version_}+{digest[:12]}"
        return est


def _join_json(reasons: list[str], counter: list[str]) -> list[str]:
    """One JSON list per row: the reasons, then the counter-evidence items."""
    return [
        r if c == "[]" else (c if r == "[]" else r[:-1] + ", " + c[1:])
        for r, c in zip(reasons, counter, strict=True)
    ]


def _as_float(s: pd.Series) -> np.ndarray:
    """A column as float64 with NaN for missing (no copy when it already is)."""
    if s.dtype == np.float64:
        return s.to_numpy()
    num = pd.to_numeric(s, errors="coerce")
    return np.asarray(num.astype("Float64").to_numpy(np.float64, na_value=np.nan))


def _all_numeric(X: pd.DataFrame) -> bool:
    return (
        bool(X.shape[1])
        and all(
            pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])
            for c in X.columns
        )
        and not any(c in X.columns for c in ("ip", "cluster", "net_type"))
    )


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def load_model(path: str | os.PathLike[str] | None = None) -> OriginScorer:
    """Load a scoring model (by default the one shipped in ``models/``).

    Parameters
    ----------
    path
        A model ``.json`` (or a folder holding the shipped model name); ``None`` for the
        shipped model.

    Returns
    -------
    OriginScorer
        Fitted and verified.

    Raises
    ------
    ModelError
        When the file is missing or refused (see :meth:`OriginScorer.load`).
    """
    p = Path(path) if path is not None else model_path()
    if p.is_dir():
        p = model_path(p)
    model = OriginScorer.load(p)
    logger.info("loaded model %s (version %s)", p, model.version_)
    return model
