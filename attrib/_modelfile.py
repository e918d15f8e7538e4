"""Verified model files: canonical JSON plus a sha256 checksum beside it, read safely.

Shared by every model attrib ships (the origin scorer, the network-type classifier). Loading:

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
   folder you keep it in (its permissions), and its ``.sha256``.

The structure of a document is the model's own to validate. Every refusal is a
:class:`~attrib.errors.ModelError` naming the file and the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import orjson

from attrib._atomic import atomic_path
from attrib.errors import ModelError

__all__ = [
    "MAX_MODEL_BYTES",
    "SHIPPED_SHA256",
    "checksum_path",
    "dumps",
    "fail",
    "read_verified",
    "sha256_hex",
    "write_model",
]

_PICKLE_MAGIC = (b"\x80", b"PK\x03\x04", b"\x93NUMPY")
#: Largest model file read (the shipped one is ~20 kB).
MAX_MODEL_BYTES = 16 * 1024 * 1024
#: sha256 of the models shipped in ``models/`` (update with the model; a test checks).
SHIPPED_SHA256 = {
    "attrib-scorer-1.2.0.json": "41313cf0fa4b6bb70729c8330140b78a1805adb236ff4589e309290a16a0611f",
    "attrib-scorer-1.3.0.json": "df1d579576bd0f34457eb4a8dc472506f5025290f6c573de449c2c6dc70143c7",
    "attrib-nettype-1.2.0.json": "62bb313f1c6d80255512620ab86fcca17276eb403fe7176d722185cef33bd735",
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


def fail(path: Path, reason: str) -> ModelError:
    """The one-line error naming a model file and why it was refused."""
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
        raise fail(p, "model file not found") from None
    except OSError as exc:
        raise fail(p, f"cannot read model file ({exc.strerror})") from None
    if len(data) > MAX_MODEL_BYTES:
        raise fail(p, f"larger than {MAX_MODEL_BYTES >> 20} MiB: not an attrib model")
    if data.startswith(_PICKLE_MAGIC):
        raise fail(p, "refusing a pickle/zip/npy file: attrib models are JSON and never unpickled")
    cp = checksum_path(p)
    try:
        recorded = cp.read_text(encoding="utf-8").split()[0].strip().lower()
    except (FileNotFoundError, IndexError):
        raise fail(p, f"checksum file {cp.name} is missing or empty; refusing to load") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(p, f"cannot read checksum file {cp.name} ({exc})") from None
    actual = sha256_hex(data)
    if actual != recorded:
        raise fail(
            p, f"sha256 mismatch (file {actual[:12]}…, recorded {recorded[:12]}…): "
            "the model was modified; refusing to load"
        )  # fmt: skip
    _check_pin(p, actual)
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise fail(p, f"not a JSON model file ({exc})") from None
    if not isinstance(doc, dict):
        raise fail(p, "not an attrib model (top level is not an object)")
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
        raise fail(p, f"sha256 {actual[:12]}… is not that of the model shipped under this "
                       "name; refusing to load (a model you trained: give it another name and "
                       "keep it outside the shipped models folder)")  # fmt: skip
