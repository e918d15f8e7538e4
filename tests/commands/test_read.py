"""``attrib read``: the progress line goes to stderr, the summary to stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from attrib_tables import demo_scenario

import attrib.pipeline._progress as prog
from attrib.cli import main


def test_read_progress_line_on_stderr_only(
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    demo = demo_scenario(tmp_path_factory)
    monkeypatch.setattr(prog, "SHOW_AFTER", 0.0)
    init = prog.StageProgress.__init__

    def fast(self, stream=None, tty=None, interval=0.5):  # type: ignore[no-untyped-def]
        init(self, stream, tty, interval)
        self.interval = 0.01  # a pipe redraws once a second by default

    monkeypatch.setattr(prog.StageProgress, "__init__", fast)
    out = tmp_path / "e.parquet"
    rc = main(["read", str(demo / "entra"), "-o", str(out), "--progress", "--json"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    summary = json.loads(cap.out)  # stdout: the JSON summary alone
    rows = summary["rows"]
    assert rows > 0
    assert "attrib: read: " in cap.err and f"attrib: read: {rows:,} rows in " in cap.err
    rc = main(["read", str(demo / "entra"), "-o", str(out), "--no-progress"])
    assert rc == 0 and "attrib: read:" not in capsys.readouterr().err
