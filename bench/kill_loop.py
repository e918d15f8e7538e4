"""kill -9 at random points of ``attrib analyze --store --out``, checking what is left each time.

Each round starts ``attrib -v analyze INPUTS --out OUT --store STORE``, kills it with SIGKILL
when a randomly chosen progress line appears (plus a random fraction of the time to the next
one), then checks:

* the store passes ``PRAGMA integrity_check``;
* the output folder is absent (before any run completed) or one complete set of one run:
  exactly the output files, and ``run.json``, ``origins.ndjson`` and ``report.html`` naming
  the same run (a *mixed* folder otherwise);
* a re-run into the same folder and store, not killed, succeeds, and afterwards the folder
  holds the run the store recorded last.

Prints one JSON line with the counts; exit status 1 if anything failed::

    nice -n 10 python bench/kill_loop.py INPUTS --kills 50 --work /tmp/kill-loop
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUTPUT_FILES = ("origins.parquet", "origins.csv", "clusters.csv", "origins.ndjson", "stix.json",
                "report.html", "run.json")  # fmt: skip


def _cmd(inputs: list[str], out: Path, store: Path) -> list[str]:
    return [sys.executable, "-m", "attrib", "-v", "analyze", *inputs, "--out", str(out),
            "--store", str(store)]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def progress_lines(inputs: list[str], work: Path) -> list[str]:
    """The stderr lines of one complete verbose run (the points a kill can aim at)."""
    out, store = work / "probe-out", work / "probe.db"
    p = subprocess.run(_cmd(inputs, out, store), env=_env(), capture_output=True, text=True,
                       check=False)  # fmt: skip
    if p.returncode != 0:
        raise SystemExit(f"the probe run failed: {p.stderr[-2000:]}")
    shutil.rmtree(out, ignore_errors=True)
    store.unlink(missing_ok=True)
    return [ln.split(" ", 2)[-1] for ln in p.stderr.splitlines() if ln.strip()]


def folder_state(out: Path) -> tuple[str, str | None]:
    """``("absent", None)``, ``("complete", run_id)`` or ``("mixed", why)``."""
    if not out.exists():
        return "absent", None
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    if names != sorted(OUTPUT_FILES):
        return "mixed", f"files {names}"
    try:
        run_id = str(json.loads((out / "run.json").read_text())["run_id"])
    except (OSError, ValueError, KeyError) as exc:
        return "mixed", f"run.json unreadable: {exc}"
    with open(out / "origins.ndjson", "rb") as fh:
        first = fh.readline()
    if first and run_id.encode() not in first:
        return "mixed", "origins.ndjson is from another run"
    if run_id.encode() not in (out / "report.html").read_bytes():
        return "mixed", "report.html is from another run"
    return "complete", run_id


def integrity(store: Path) -> str:
    """``PRAGMA integrity_check`` of the store (``"absent"`` when there is none)."""
    if not store.exists():
        return "absent"
    con = sqlite3.connect(store, timeout=30)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


def last_run(store: Path) -> str | None:
    """The run the store recorded last."""
    if not store.exists():
        return None
    con = sqlite3.connect(store, timeout=30)
    try:
        row = con.execute("SELECT run_id FROM runs ORDER BY rowid DESC LIMIT 1").fetchone()
    finally:
        con.close()
    return None if row is None else str(row[0])


def kill_once(inputs: list[str], out: Path, store: Path, lines: list[str],
              rng: random.Random) -> dict[str, Any]:  # fmt: skip
    """Start a run, SIGKILL it at a random progress line, and report what happened."""
    target = rng.randrange(len(lines))
    delay = rng.random() * 0.5
    p = subprocess.Popen(_cmd(inputs, out, store), env=_env(), stderr=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, text=True)  # fmt: skip
    assert p.stderr is not None
    seen = 0
    killed = threading.Event()

    def kill_later() -> None:
        time.sleep(delay)
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            killed.set()

    for _ in p.stderr:
        seen += 1
        if seen > target:
            threading.Thread(target=kill_later, daemon=True).start()
            break
    for _ in p.stderr:  # drain until the process ends
        pass
    rc = p.wait()
    p.stderr.close()
    return {"line": target, "killed": killed.is_set() or rc == -signal.SIGKILL, "rc": rc}


def kill_loop(inputs: list[str], work: Path, kills: int, seed: int = 1) -> dict[str, Any]:
    """Run the loop; return the counts (see the module notes)."""
    work.mkdir(parents=True, exist_ok=True)
    out, store = work / "out", work / "s.db"
    shutil.rmtree(out, ignore_errors=True)
    store.unlink(missing_ok=True)
    lines = progress_lines(inputs, work)
    rng = random.Random(seed)
    res: dict[str, Any] = {"kills": 0, "self_exits_failed": 0, "mixed": 0, "integrity": 0,
                           "rerun_failed": 0, "store_folder_disagree": 0, "problems": []}  # fmt: skip
    completed: set[str] = set()
    for i in range(kills):
        k = kill_once(inputs, out, store, lines, rng)
        if k["killed"]:
            res["kills"] += 1
        elif k["rc"] != 0:
            res["self_exits_failed"] += 1
            res["problems"].append(f"round {i}: run ended by itself with {k['rc']}")
        state, info = folder_state(out)
        if state == "mixed":
            res["mixed"] += 1
            res["problems"].append(f"round {i} (line {k['line']}): mixed folder: {info}")
        elif state == "absent" and completed:
            res["mixed"] += 1
            res["problems"].append(f"round {i}: folder missing after a completed run")
        ic = integrity(store)
        if ic not in ("ok", "absent"):
            res["integrity"] += 1
            res["problems"].append(f"round {i}: integrity_check: {ic}")
        p = subprocess.run(_cmd(inputs, out, store), env=_env(), capture_output=True,
                           text=True, check=False)  # fmt: skip
        if p.returncode != 0:
            res["rerun_failed"] += 1
            res["problems"].append(f"round {i}: re-run failed: {p.stderr.strip()[-300:]}")
        else:
            state, run_id = folder_state(out)
            if state != "complete" or run_id != last_run(store):
                res["store_folder_disagree"] += 1
                res["problems"].append(
                    f"round {i}: folder {state} {run_id}, store {last_run(store)}"
                )
            elif run_id is not None:
                completed.add(run_id)
        print(json.dumps({"round": i, **k, "so_far": {key: v for key, v in res.items()
                                                      if key != "problems"}}),
              file=sys.stderr, flush=True)  # fmt: skip
    res["runs_in_store"] = _count_runs(store)
    return res


def _count_runs(store: Path) -> int:
    con = sqlite3.connect(store)
    try:
        return int(con.execute("SELECT count(*) FROM runs").fetchone()[0])
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, default=Path("kill-loop"))
    a = ap.parse_args(argv)
    t0 = time.monotonic()
    res = kill_loop(a.inputs, a.work, a.kills, a.seed)
    res["seconds"] = round(time.monotonic() - t0, 1)
    print(json.dumps(res))
    bad = res["mixed"] + res["integrity"] + res["rerun_failed"] + res["store_folder_disagree"]
    return 1 if bad or res["self_exits_failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
