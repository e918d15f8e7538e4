"""Where the compiled (numba) pcap reader starts to pay for itself, for a new process.

A CLI run pays numba's import and the load of its cached machine code before the first packet;
the plain Python/numpy path pays nothing up front but is slower per packet. For captures of
increasing size (generated as in ``bench/pcap_speed.py``) this times, each in a fresh process
and imports included, ``attrib.io.read(capture)`` with ``pcap_engine="python"`` and with
``pcap_engine="numba"`` (numba's cache warmed first), and prints the medians, their ratio and
the peak RSS. ``attrib.io.pcap._jit.SMALL_CAPTURE_BYTES`` is set from the crossover.

    .venv/bin/python bench/pcap_crossover.py [--packets 20000 50000 100000 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pcap_speed import REPO, WORK, generate  # noqa: E402

PROG = """
import resource, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {repo!r})
import attrib.io as aio
df = aio.read({path!r}, format="pcap", options={{"pcap_engine": {engine!r}}})
dt = time.perf_counter() - t0
assert len(df) > 0
print(dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "numba" in sys.modules)
"""


def _run(path: Path, engine: str) -> tuple[float, float]:
    code = PROG.format(repo=str(REPO), path=str(path), engine=engine)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout.split()  # fmt: skip
    return float(out[0]), float(out[1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, nargs="+", default=[20_000, 50_000, 100_000, 200_000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    warm = REPO / "tests" / "data" / "pcap" / "warmup.pcap"
    _run(warm, "numba")  # numba's cache: compiled once here if it is cold
    print(f"cores: {os.cpu_count()}, load avg: {os.getloadavg()[0]:.2f}")
    print(f"{'packets':>9}{'MB':>7}{'python s':>10}{'numba s':>9}{'py/numba':>10}"
          f"{'RSS py':>8}{'RSS nb':>8}")  # fmt: skip
    for n in args.packets:
        path = WORK / f"mix_{n}.pcap"
        if not path.exists():
            generate(path, n)
        py, nb = [], []
        for _ in range(args.repeat):  # interleaved, so load changes hit both alike
            py.append(_run(path, "python"))
            nb.append(_run(path, "numba"))
        tp, tn = statistics.median(t for t, _ in py), statistics.median(t for t, _ in nb)
        print(f"{n:>9}{path.stat().st_size / 1e6:>7.1f}{tp:>10.2f}{tn:>9.2f}{tp / tn:>10.2f}"
              f"{max(r for _, r in py):>8.0f}{max(r for _, r in nb):>8.0f}")  # fmt: skip
    print("medians of fresh processes, imports included; py/numba > 1: the compiled path wins")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
