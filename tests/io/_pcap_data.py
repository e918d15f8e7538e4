"""Where the reference captures live (``tests/data/ref``, committed; see its README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / "tests" / "data" / "ref"
JA4_DIR = SHARED / "ja4"
ZEEK_DIR = SHARED / "zeek-btest"


def need(path: Path) -> Path:
    """Return ``path``; fail (not skip) when the committed reference data is incomplete."""
    if not path.exists():
        pytest.fail(f"reference data missing: {path} (tests/data/ref is committed)")
    return path
