"""CI smoke of ``scripts/fuzz.py``: a short run of every harness finds no crash and no hang.

The long campaigns (figures in docs/reliability.md) run the same harnesses offline. Here the
cheap harnesses (sniffers, address normaliser, model loader) run a few thousand cases, the
readers a few dozen each (one case costs a whole ``attrib.io.read``), to keep CI short.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("attrib_fuzz", REPO / "scripts" / "fuzz.py")
assert _spec is not None and _spec.loader is not None
fuzz = importlib.util.module_from_spec(_spec)
sys.modules["attrib_fuzz"] = fuzz  # dataclasses look their module up
_spec.loader.exec_module(fuzz)

_CASES = {"sniff": 3000, "normalize": 2000, "model": 300}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(fuzz.harnesses()))
def test_harness_smoke(name: str, tmp_path: Path) -> None:
    if not [s for s in fuzz.harnesses()[name].seeds() if s]:
        pytest.skip(f"no seed files for {name}")
    crashes, hangs = fuzz.worker(
        name, _CASES.get(name, 25), seed=18, out=tmp_path, timeout=30,
        status=tmp_path / "status.json",
    )  # fmt: skip
    found = sorted(p.name for p in tmp_path.glob(f"{name}-*.txt"))
    assert (crashes, hangs) == (0, 0), [(tmp_path / f).read_text()[-600:] for f in found]
