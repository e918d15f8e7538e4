"""CI smoke of ``scripts/fuzz.py``: a short run of every harness finds no crash and no hang.

The long campaigns (figures in docs/reliability.md) run the same harnesses offline, in a
capped worker process. Here they run in process, seeded, with the per-input alarm: 10,000
inputs for the harnesses that cost well under a millisecond an input (sniffers, address
normaliser, model loader, the capture framing alone, the two mapped-flow readers, which
reject most mutations at the sniff), and for the other readers as many as fit about 10 s of CPU each (a reader's input
costs a whole ``attrib.io.read``: 10–70 ms, most of it building the pandas frames), so that
the smoke adds about 3 minutes of CPU to the suite (195 s of CPU measured for the whole
file before the last trim of the reader counts; the flow readers' 10,000 cost ~40 s each).
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

#: inputs per harness (mean CPU per input measured on the 2-core VM, in the comments)
CASES = {
    "sniff": 10_000,  # 0.2 ms
    "normalize": 10_000,  # 0.8 ms
    "model": 10_000,  # 0.3 ms median, a few parse into a whole model
    "flow-json": 10_000,  # 0.2 ms median (most mutations fail the forced sniff), 2.6 mean
    "flow-csv": 10_000,  # 0.4 ms median, 3.5 mean
    "zeek-tsv": 500,  # 20 ms
    "zeek-json": 800,  # 11 ms
    "suricata": 150,  # 69 ms: the EVE reader's fixed cost per file
    "entra": 600,  # 11 ms
    "okta": 500,  # 20 ms
    "m365": 400,  # 21 ms
    "nfdump": 500,  # 13 ms
    "pcap": 500,  # 14 ms
    "pcap-blocks": 10_000,  # 0.2 ms: the container framing alone
}


def test_every_harness_has_a_smoke_count() -> None:
    assert set(CASES) == set(fuzz.harnesses())


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_harness_smoke(name: str, tmp_path: Path) -> None:
    if not [s for s in fuzz.harnesses()[name].seeds() if s]:
        pytest.skip(f"no seed files for {name}")
    crashes, hangs = fuzz.worker(
        name, CASES[name], seed=18, out=tmp_path, timeout=30, status=tmp_path / "status.json"
    )
    found = sorted(p.name for p in tmp_path.glob(f"{name}-*.txt"))
    assert (crashes, hangs) == (0, 0), [(tmp_path / f).read_text()[-600:] for f in found]
    assert fuzz._status(tmp_path / "status.json")["execs"] == CASES[name]


def test_the_worker_counts_and_saves_crashes_and_hangs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(data: bytes, path: Path) -> None:
        if data.startswith(b"x"):
            raise KeyError("boom")

    def spin(data: bytes, path: Path) -> None:
        while data:  # every input hangs: only the CPU timer ends it
            pass

    def seeds() -> list[bytes]:
        return [b"x" * 8]

    fake = {"crash": fuzz.Harness(seeds, crash), "spin": fuzz.Harness(seeds, spin)}
    monkeypatch.setattr(fuzz, "harnesses", lambda: fake)
    status = tmp_path / "status.json"
    crashes, hangs = fuzz.worker("crash", 20, seed=1, out=tmp_path, timeout=1, status=status)
    assert hangs == 0 and 1 <= crashes <= 20  # the seed itself crashes, mutants may not
    assert "KeyError: 'boom'" in next(tmp_path.glob("crash-crash-*.txt")).read_text()
    assert fuzz.worker("spin", 2, seed=1, out=tmp_path, timeout=1, status=status) == (0, 2)
    assert "of CPU" in next(tmp_path.glob("spin-hang-*.txt")).read_text()
    assert fuzz._status(status)["execs"] == 2
