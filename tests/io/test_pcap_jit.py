"""Which path a pcap read takes (io/pcap/_jit.py): small captures never import numba."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from attrib.io.pcap import _jit

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _notices_reach_caplog(monkeypatch: pytest.MonkeyPatch) -> None:
    # the CLI (run earlier in the same session) prints notices itself and stops propagation
    monkeypatch.setattr(logging.getLogger("attrib.notice"), "propagate", True)


SMALL = REPO / "data" / "samples" / "demo" / "pcap" / "handshakes.pcap"


def test_a_small_capture_is_read_without_importing_numba() -> None:
    code = ("import sys, attrib.io as aio; df = aio.read(sys.argv[1], format='pcap'); "
            "print(len(df), 'numba' in sys.modules)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code, str(SMALL)], capture_output=True,
                          text=True, check=True, cwd=REPO)  # fmt: skip
    rows, numba_loaded = done.stdout.split()
    assert int(rows) > 0 and numba_loaded == "False"
    assert "numba" not in done.stderr  # no warning about it either


def test_choice_by_engine_and_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_jit, "_state", {"available": True, "announced": True})
    monkeypatch.delitem(sys.modules, "attrib.io.pcap._walk", raising=False)
    small, large = _jit.SMALL_CAPTURE_BYTES - 1, _jit.SMALL_CAPTURE_BYTES
    assert _jit.choose("auto", small) is False
    assert _jit.choose("auto", large) is True
    assert _jit.choose("auto", None) is True  # unknown size: as a large one
    assert _jit.choose("numba", small) is True
    assert _jit.choose("python", large) is False
    monkeypatch.setattr(_jit, "_state", {"available": False})
    assert _jit.choose("numba", large) is False  # not installed: the plain path, no error


def test_first_compile_says_so_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_jit, "_state", {"available": True})
    monkeypatch.setattr(_jit, "_marker", lambda: tmp_path / "compiled.ok")
    with caplog.at_level("INFO", logger="attrib.notice"):
        assert _jit.choose("numba", 10)
        assert _jit.choose("numba", 10)
    said = [r.getMessage() for r in caplog.records if r.name == "attrib.notice"]
    assert len(said) == 1 and "compiling the fast pcap reader" in said[0]
    _jit.note_compiled()
    assert (tmp_path / "compiled.ok").exists()
    monkeypatch.setattr(_jit, "_state", {"available": True})
    caplog.clear()
    with caplog.at_level("INFO", logger="attrib.notice"):
        assert _jit.choose("numba", 10)
    assert not [r for r in caplog.records if r.name == "attrib.notice"]


def test_a_large_capture_without_numba_gets_one_plain_hint(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_jit, "_state", {"available": False})
    with caplog.at_level("INFO", logger="attrib.notice"):
        assert not _jit.choose("auto", _jit.SMALL_CAPTURE_BYTES)
        assert not _jit.choose("auto", _jit.SMALL_CAPTURE_BYTES)
        assert not _jit.choose("auto", 100)
    said = [r for r in caplog.records if r.name == "attrib.notice"]
    assert len(said) == 1 and said[0].levelname == "INFO" and "numba" in said[0].getMessage()
