"""Peak memory of the README's quick-start run (``attrib analyze`` on the demo), against a
bare ``python -c "import pandas, pyarrow"`` measured in the same run.

Each run is a fresh process (``attrib analyze data/samples/demo --config .../org.toml --out
TMP``); its peak resident set comes from ``getrusage(RUSAGE_CHILDREN)`` after it exits (what
``/usr/bin/time -v`` reports as "Maximum resident set size"). Prints the median of
``--repeat`` runs, the baseline's median and the ratio. The must-hold bound is 400 MB.

    .venv/bin/python bench/analyze_memory.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "samples" / "demo"
LIMIT_MB = 400

_CHILD = """
import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""


def peak_mb(cmd: list[str]) -> tuple[float, float]:
    """Peak RSS (MiB) and wall seconds of ``cmd`` run in a fresh process."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _CHILD, *cmd], check=True, capture_output=True,
                         text=True, cwd=REPO).stdout.split()  # fmt: skip
    if out[0] != "0":
        raise SystemExit(f"{' '.join(cmd)}: exit code {out[0]}")
    return float(out[1]), time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    base_cmd = [sys.executable, "-c", "import pandas, pyarrow"]
    runs, base = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):  # interleaved, so load changes hit both alike
            base.append(peak_mb(base_cmd))
            out = Path(tmp) / f"out{i}"
            runs.append(peak_mb([sys.executable, "-m", "attrib", "analyze", str(DEMO),
                                 "--config", str(DEMO / "org.toml"), "--out", str(out)]))  # fmt: skip
    rss = statistics.median(r for r, _ in runs)
    b = statistics.median(r for r, _ in base)
    print(f"cores: {os.cpu_count()}, load avg: {os.getloadavg()[0]:.2f}")
    print(f"demo analyze peak RSS: median {rss:.0f} MB of {args.repeat} "
          f"({', '.join(f'{r:.0f}' for r, _ in runs)}); wall median "
          f"{statistics.median(t for _, t in runs):.1f} s")  # fmt: skip
    print(f"baseline (import pandas, pyarrow): median {b:.0f} MB; ratio {rss / b:.2f}x")
    print(f"bound: {LIMIT_MB} MB -> {'ok' if rss < LIMIT_MB else 'OVER'}")
    return 0 if rss < LIMIT_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())
