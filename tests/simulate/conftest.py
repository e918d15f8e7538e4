"""Scenarios shared by the simulator tests (each generated once per test session)."""

from __future__ import annotations

import pytest

from attrib.simulate import SimulationResult, simulate


@pytest.fixture(scope="session")
def demo_a(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    """The demo preset, seed 11 (plain text logs)."""
    return simulate("demo", 11, tmp_path_factory.mktemp("demo_a"), compress="none")


@pytest.fixture(scope="session")
def demo_b(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    """The demo preset, seed 11 again (determinism)."""
    return simulate("demo", 11, tmp_path_factory.mktemp("demo_b"), compress="none")


@pytest.fixture(scope="session")
def demo_c(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    """The demo preset, seed 12."""
    return simulate("demo", 12, tmp_path_factory.mktemp("demo_c"), compress="none")


@pytest.fixture(scope="session")
def two_sided(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    """The two-sided preset (seed 5), Zeek logs as JSON."""
    return simulate("two_sided", 5, tmp_path_factory.mktemp("two_sided"), zeek_format="json")
