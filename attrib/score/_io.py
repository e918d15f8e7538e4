"""Safe model files: plain JSON plus a sha256 checksum beside it.

A model is data — bin cut points, weights, a calibration table — written as JSON with sorted
keys and rounded floats (same model, same bytes). Loading:

1. refuses anything that is not UTF-8 JSON (a pickle, skops zip or joblib file is rejected
   before any byte of it is interpreted; nothing is ever unpickled);
2. reads at most :data:`MAX_MODEL_BYTES` (``--model /dev/zero`` is refused, not read
   forever) and parses with ``orjson`` (nesting limit: a deeply nested file is a clear
   error, not a ``RecursionError``);
3. verifies the sha256 recorded in ``<model>.sha256`` (missing or different: refused). That
   file detects corruption, not tampering: whoever can rewrite the model can rewrite it.
   Shipped models are therefore also checked against :data:`SHIPPED_SHA256`, digests
   pinned inside the package: a shipped model altered on disk is refused even with a
   recomputed ``.sha256``. A model you trained yourself is trusted exactly as far as the
   folder you keep it in (its permissions), and its ``.sha256``;
4. validates the structure: format name, schema version, feature count, array lengths,
   finite numbers, sorted cut points, a monotone calibration table.

Every refusal is a :class:`~attrib.errors.ModelError` naming the file and the reason.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from attrib._atomic import atomic_path
from attrib.errors import ModelError
from attrib.score._model import AdditiveModel

__all__: list[str] = []  # private module

FORMAT = "attrib-origin-scorer"
SCHEMA_VERSION = 1
_SIG_DIGITS = 12
_PICKLE_MAGIC = (b"\x80", b"PK\x03\x04", b"\x93NUMPY")
#: Largest model file read (the shipped one is ~20 kB).
MAX_MODEL_BYTES = 16 * 1024 * 1024
#: sha256 of the models shipped in ``models/`` (update with the model; a test checks).
SHIPPED_SHA256 = {
    "attrib-scorer-1.1.0.json": "b764536e2a6c7a0af4c04550ce795d5905923aa47de01b7e27672707d1342621",
}


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


def dumps(doc: dict[str, Any]) -> bytes:
    """Canonical JSON bytes (sorted keys, fixed separators, trailing newline)."""
    return (json.dumps(doc, sort_keys=True, indent=1, allow_nan=False) + "\n").encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def checksum_path(path: Path) -> Path:
    """Where the checksum of ``path`` lives."""
    return path.with_name(path.name + ".sha256")


def write_model(doc: dict[str, Any], path: str | os.PathLike[str]) -> str:
    """Write the model JSON and its ``.sha256`` atomically; return the checksum."""
    p = Path(path)
    data = dumps(doc)
    digest = sha256_hex(data)
    with atomic_path(p) as tmp:
        tmp.write_bytes(data)
    with atomic_path(checksum_path(p)) as tmp:
        tmp.write_text(f"{digest}  {p.name}\n", encoding="utf-8")
    return digest


def _fail(path: Path, reason: str) -> ModelError:
    return ModelError(f"{path}: {reason}")


def read_verified(path: str | os.PathLike[str]) -> tuple[dict[str, Any], str]:
    """Read, checksum-verify and parse a model file (structure not yet validated).

    Returns the parsed document and the file's sha256.

    Raises
    ------
    ModelError
        Missing file or checksum, checksum mismatch, pickle or other non-JSON content.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            data = fh.read(MAX_MODEL_BYTES + 1)
    except FileNotFoundError:
        raise _fail(p, "model file not found") from None
    except OSError as exc:
        raise _fail(p, f"cannot read model file ({exc.strerror})") from None
    if len(data) > MAX_MODEL_BYTES:
        raise _fail(p, f"larger than {MAX_MODEL_BYTES >> 20} MiB: not an attrib model")
    if data.startswith(_PICKLE_MAGIC):
        raise _fail(p, "refusing a pickle/zip/npy file: attrib models are JSON and never unpickled")
    cp = checksum_path(p)
    try:
        recorded = cp.read_text(encoding="utf-8").split()[0].strip().lower()
    except (FileNotFoundError, IndexError):
        raise _fail(p, f"checksum file {cp.name} is missing or empty; refusing to load") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(p, f"cannot read checksum file {cp.name} ({exc})") from None
    actual = sha256_hex(data)
    if actual != recorded:
        raise _fail(
            p, f"sha256 mismatch (file {actual[:12]}…, recorded {recorded[:12]}…): "
            "the model was modified; refusing to load"
        )  # fmt: skip
    _check_pin(p, actual)
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise _fail(p, f"not a JSON model file ({exc})") from None
    if not isinstance(doc, dict):
        raise _fail(p, "not an attrib model (top level is not an object)")
    return doc, actual


def _check_pin(p: Path, actual: str) -> None:
    """Refuse a shipped model (by name, or anywhere in the shipped folder) not as shipped."""
    from attrib._paths import default_models_dir

    pinned = SHIPPED_SHA256.get(p.name)
    try:
        shipped_dir = p.resolve().parent == default_models_dir().resolve()
    except OSError:
        shipped_dir = False
    if pinned is None and not shipped_dir:
        return
    if actual != pinned:
        raise _fail(p, f"sha256 {actual[:12]}… is not that of the model shipped under this "
                       "name; refusing to load (a model you trained: give it another name and "
                       "keep it outside the shipped models folder)")  # fmt: skip


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
