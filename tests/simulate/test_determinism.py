"""Same seed -> byte-identical files; different seed -> different files."""

from __future__ import annotations

from pathlib import Path

import pytest

from attrib.simulate import SimulationResult

pytestmark = pytest.mark.slow


def files(out: Path) -> list[Path]:
    """All files of a scenario, sorted."""
    return sorted(p for p in out.rglob("*") if p.is_file())


def test_same_seed_gives_identical_bytes(
    demo_a: SimulationResult, demo_b: SimulationResult
) -> None:
    fa, fb = files(demo_a.out), files(demo_b.out)
    assert [p.relative_to(demo_a.out) for p in fa] == [p.relative_to(demo_b.out) for p in fb]
    for a, b in zip(fa, fb, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_different_seed_gives_different_files(
    demo_a: SimulationResult, demo_c: SimulationResult
) -> None:
    for key in ("conn", "signins", "truth"):
        assert demo_a.paths[key].read_bytes() != demo_c.paths[key].read_bytes(), key
