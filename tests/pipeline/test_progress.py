"""The per-stage progress line (pipeline/_progress.py) and the rows/s it leaves in run.json."""

from __future__ import annotations

import io
import json
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from attrib_tables import demo_scenario

import attrib.pipeline._progress as prog
from attrib.cli import main
from attrib.pipeline._progress import StageProgress, progress
from attrib.pipeline._runstats import RunStats


class _Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_a_long_stage_shows_rows_rate_percent_and_eta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prog, "SHOW_AFTER", 0.0)
    out = _Pipe()
    line = StageProgress(stream=out, interval=0.05)
    line.interval = 0.05  # a pipe redraws once a second by default; faster here
    line.start("read", done=lambda: 0.5)
    for _ in progress([object(), *[pd.DataFrame({"a": range(100)})] * 3], "r"):
        time.sleep(0.05)
    time.sleep(0.2)
    line.finish(300)
    text = out.getvalue()
    assert "attrib: read: 300 rows" in text and "rows/s" in text
    assert "50% ETA 0:0" in text  # half done after ~0.4 s: a few tenths to go
    assert text.rstrip().splitlines()[-1].startswith("attrib: read: 300 rows in ")
    assert prog.active() is None


def test_a_short_stage_prints_nothing() -> None:
    out = _Pipe()
    line = StageProgress(stream=out)
    line.start("score")
    line.add(10)
    line.finish(10)
    assert out.getvalue() == ""


def test_a_terminal_redraws_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prog, "SHOW_AFTER", 0.0)
    out = _Pipe()
    line = StageProgress(stream=out, tty=True, interval=0.02)
    line.start("cluster")
    time.sleep(0.15)
    line.finish(6)
    text = out.getvalue()
    assert text.count("\r\x1b[2Kattrib: cluster:") >= 2 and text.endswith("\n")
    assert text.count("\n") == 1  # one line on the screen, completed at the end


def test_rows_per_second_in_the_stage_record() -> None:
    stats = RunStats()
    with stats.stage("read") as rec:
        time.sleep(0.01)
        rec["rows"] = 1000
    with stats.stage("cluster") as rec:
        rec["rows_in"], rec["rows"] = 500, 3
    with stats.stage("outputs"):
        pass
    read, cluster, outputs = stats.stages
    assert 0 < read["rows_per_s"] <= 1000 / 0.01
    assert cluster["rows_per_s"] > 3  # input origins per second, not clusters
    assert "rows_per_s" not in outputs


def test_cli_progress_goes_to_stderr_and_json_stays_clean(
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    demo = demo_scenario(tmp_path_factory)
    src = tmp_path / "in"
    shutil.copytree(demo / "entra", src / "entra")  # the sign-ins alone keep this run short
    monkeypatch.setattr(prog, "SHOW_AFTER", 0.0)
    monkeypatch.setattr(StageProgress, "__init__", _fast_init(StageProgress.__init__))
    rc = main(["analyze", str(src), "--out", str(tmp_path / "out"), "--config",
               str(demo / "org.toml"), "--progress", "--json"])  # fmt: skip
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    run = json.loads(cap.out)  # nothing but run.json on stdout
    assert "attrib: read:" in cap.err
    stages = {s["stage"]: s for s in run["stages"]}
    read = stages["read"]
    assert read["rows"] > 0 and read["rows_per_s"] == pytest.approx(
        read["rows"] / read["seconds"], rel=0.05
    )
    for name in ("read", "enrich", "features", "cluster", "score"):
        assert isinstance(stages[name]["rows_per_s"], int) and stages[name]["rows_per_s"] >= 0
    rc = main(["analyze", str(src), "--config", str(demo / "org.toml"), "--no-progress",
               "--json"])  # fmt: skip
    cap = capsys.readouterr()
    assert rc == 0 and "attrib: read:" not in cap.err


def _fast_init(init):  # type: ignore[no-untyped-def]
    def fast(self, stream=None, tty=None, interval=0.5):  # type: ignore[no-untyped-def]
        init(self, stream, tty, interval)
        self.interval = 0.05

    return fast


def test_on_by_default_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prog.sys.stderr, "isatty", lambda: True)
    assert isinstance(prog.for_run(None), StageProgress)
    assert prog.for_run(False) is None
    monkeypatch.setattr(prog.sys.stderr, "isatty", lambda: False)
    assert prog.for_run(None) is None
    assert isinstance(prog.for_run(True), StageProgress)  # --progress on a pipe
