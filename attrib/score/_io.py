"""The origin scorer's model file: the additive model as data, validated on load.

Reading, size and nesting limits, checksums and pinned digests are :mod:`attrib._modelfile`'s
(shared with the network-type model); this module turns a verified document into an
:class:`~attrib.score._model.AdditiveModel`, validating the structure: format name, schema
version, feature count, array lengths, finite numbers, sorted cut points, a monotone
calibration table. Every refusal is a :class:`~attrib.errors.ModelError` naming the file.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from attrib._modelfile import (
    MAX_MODEL_BYTES,
    SHIPPED_SHA256,
    checksum_path,
    dumps,
    read_verified,
    sha256_hex,
    write_model,
)
from attrib._modelfile import fail as _fail
from attrib.score._model import AdditiveModel

#: the file format helpers are :mod:`attrib._modelfile`'s, re-exported for the scorer's callers
__all__ = [
    "MAX_MODEL_BYTES",
    "SHIPPED_SHA256",
    "checksum_path",
    "dumps",
    "read_verified",
    "sha256_hex",
    "write_model",
]

FORMAT = "attrib-origin-scorer"
SCHEMA_VERSION = 1
_SIG_DIGITS = 12


def _r(v: float) -> float:
    """Round to a fixed number of significant digits so bytes are stable."""
    if v == 0.0 or not math.isfinite(v):
        return float(v)
    return float(f"{v:.{_SIG_DIGITS}g}")


def _rl(a: Any) -> list[float]:
    return [_r(float(v)) for v in np.asarray(a, dtype=np.float64).ravel()]


def model_to_dict(model: AdditiveModel) -> dict[str, Any]:
    """The plain-data form of the additive state."""
    cal = dict(model.calibration)
    for k in ("x", "y"):
        if k in cal:
            cal[k] = _rl(cal[k])
    for k in ("a", "b"):
        if k in cal:
            cal[k] = _r(float(cal[k]))  # type: ignore[arg-type]
    return {
        "features": list(model.features),
        "edges": [_rl(e) for e in model.edges],
        "weights": [_rl(w) for w in model.weights],
        "missing": _rl(model.missing),
        "base": _r(model.base),
        "calibration": cal,
    }


def _floats(p: Path, name: str, v: Any, n: int | None = None) -> np.ndarray:
    if not isinstance(v, list) or not all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in v
    ):
        raise _fail(p, f"field {name!r} must be a list of numbers")
    a = np.asarray(v, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise _fail(p, f"field {name!r} holds non-finite numbers")
    if n is not None and a.size != n:
        raise _fail(p, f"field {name!r} has {a.size} values, expected {n}")
    return a


def _calibration(p: Path, cal: Any) -> dict[str, object]:
    if not isinstance(cal, dict) or cal.get("method") not in ("isotonic", "sigmoid", "none"):
        raise _fail(p, "field 'calibration' must name method isotonic, sigmoid or none")
    if cal["method"] == "isotonic":
        x = _floats(p, "calibration.x", cal.get("x"))
        y = _floats(p, "calibration.y", cal.get("y"), x.size)
        if x.size < 1 or np.any(np.diff(x) < 0) or np.any(np.diff(y) < 0):
            raise _fail(p, "isotonic calibration table must be non-empty and non-decreasing")
        if np.any((y < 0) | (y > 1)):
            raise _fail(p, "isotonic calibration probabilities must lie in [0, 1]")
        return {"method": "isotonic", "x": x.tolist(), "y": y.tolist()}
    if cal["method"] == "sigmoid":
        a, b = _floats(p, "calibration.a/b", [cal.get("a"), cal.get("b")])
        return {"method": "sigmoid", "a": float(a), "b": float(b)}
    return {"method": "none"}


def model_from_dict(doc: dict[str, Any], path: str | os.PathLike[str]) -> AdditiveModel:
    """Validate the structure of a parsed model file and build the additive state."""
    p = Path(path)
    if doc.get("format") != FORMAT:
        raise _fail(p, f"not an attrib origin-scorer model (format {doc.get('format')!r})")
    ver = doc.get("schema_version")
    if ver != SCHEMA_VERSION:
        raise _fail(p, f"model schema version {ver!r} is not supported (this attrib reads "
                       f"version {SCHEMA_VERSION}); retrain with `attrib train`")  # fmt: skip
    feats = doc.get("features")
    if not isinstance(feats, list) or not feats or not all(isinstance(f, str) for f in feats):
        raise _fail(p, "field 'features' must be a non-empty list of names")
    if len(set(feats)) != len(feats):
        raise _fail(p, "field 'features' repeats a name")
    m = len(feats)
    for key in ("edges", "weights"):
        if not isinstance(doc.get(key), list) or len(doc[key]) != m:
            raise _fail(p, f"field {key!r} must hold one list per feature ({m})")
    edges = [_floats(p, f"edges[{f}]", e) for f, e in zip(feats, doc["edges"], strict=True)]
    for f, e in zip(feats, edges, strict=True):
        if np.any(np.diff(e) <= 0):
            raise _fail(p, f"cut points of feature {f!r} are not strictly increasing")
    weights = [
        _floats(p, f"weights[{f}]", w, e.size + 1)
        for f, w, e in zip(feats, doc["weights"], edges, strict=True)
    ]
    missing = _floats(p, "missing", doc.get("missing"), m)
    base = _floats(p, "base", [doc.get("base")])[0]
    cal = _calibration(p, doc.get("calibration"))
    return AdditiveModel(list(feats), edges, weights, missing, float(base), cal)
