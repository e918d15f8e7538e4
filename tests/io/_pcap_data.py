"""Where the shared reference captures live (``../shared/data`` beside the repository)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
JA4_DIR = SHARED / "ja4"
ZEEK_DIR = SHARED / "zeek-btest"


def need(path: Path) -> Path:
    """Return ``path`` or skip the test when the shared data is not there."""
    if not path.exists():
        pytest.skip(f"reference data missing: {path}")
    return path
