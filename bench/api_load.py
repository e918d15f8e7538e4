"""Load benchmark of ``attrib serve`` on loopback with wrk (Debian's ``wrk``).

Measures, against a real server process:
  1. single-address lookups: throughput and p50/p99 latency (wrk --latency, closed loop);
  2. a paced run at a fixed rate (default 2,000 req/s) with its p50/p99 — the SLO check
     (p99 <= 5 ms at >= 2,000 req/s);
  3. a 10,000-address batch: median wall time of several POST /v1/enrich;
  4. optionally (--soak SECONDS, >= 300 for the issue's check) a steady paced soak: error
     responses and server RSS at start and end.

Usage:  flock /tmp/attrib-bench.lock .venv/bin/python bench/api_load.py \
            [--workers 1] [--duration 20] [--repeats 3] [--rate 2000] [--soak 300]
Closed-loop and paced figures are medians over --repeats runs (each run's figures are in
--json). wrk shares the machine's cores with the server; the 1-, 5- and 15-minute load
averages before and after are reported because other work on the box skews the tail.
Traffic goes only to 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(tmp: Path, workers: int) -> tuple[subprocess.Popen[bytes], str, str]:
    keys = tmp / "keys.db"
    key = subprocess.run(
        [sys.executable, "-m", "attrib", "keys", "create", "bench", "--keys-db", str(keys)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    port = free_port()
    env = {
        **os.environ,
        "ATTRIB_ACCESS_LOG": "false",
        "ATTRIB_RATE_LIMIT_RPS": "1000000",
        "ATTRIB_RATE_LIMIT_BURST": "1000000",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "attrib",
            "serve",
            "--port",
            str(port),
            "--keys-db",
            str(keys),
            "--workers",
            str(workers),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "server.log").open("wb"),
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return proc, url, key
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            sys.exit((tmp / "server.log").read_text()[-2000:])
        time.sleep(0.2)
    proc.kill()
    sys.exit("server did not start")


def rss_mb(proc: subprocess.Popen[bytes]) -> float:
    p = psutil.Process(proc.pid)
    return (
        p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))
    ) / 2**20


def lua_script(tmp: Path, ips: list[str], key: str, delay_ms: float | None) -> Path:
    body = "ips = {" + ",".join(f'"{ip}"' for ip in ips) + "}\n"
    body += f'wrk.headers["Authorization"] = "Bearer {key}"\n'
    body += "counter = 0\n"
    body += (
        "request = function()\n  counter = counter + 1\n"
        "  return wrk.format('GET', '/v1/ip/' .. ips[(counter % #ips) + 1])\nend\n"
    )
    if delay_ms is not None:
        body += f"delay = function()\n  return {delay_ms:.3f}\nend\n"
    p = tmp / f"load-{delay_ms}.lua"
    p.write_text(body)
    return p


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def parse_wrk(out: str) -> dict[str, float]:
    res: dict[str, float] = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["rps"] = float(m.group(1)) if m else float("nan")
    for pct in ("50", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        res[f"p{pct}_ms"] = float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    res["non2xx"] = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in", out)
    res["requests"] = float(m.group(1)) if m else float("nan")
    m = re.search(r"Socket errors:.*", out)
    res["socket_errors"] = (
        0.0 if not m else float(sum(int(x) for x in re.findall(r"\d+", m.group(0))))
    )
    return res


def wrk(
    url: str,
    script: Path,
    conns: int,
    seconds: int,
    sample: subprocess.Popen[bytes] | None = None,
    rss_log: list[tuple[float, float]] | None = None,
) -> dict[str, float]:
    """One wrk run; with ``sample``, that process's RSS is logged every 15 s meanwhile."""
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as p:
        t0 = time.monotonic()
        while p.poll() is None and time.monotonic() - t0 < seconds + 60:
            if sample is not None and rss_log is not None:
                rss_log.append((round(time.monotonic() - t0, 1), round(rss_mb(sample), 1)))
            try:
                p.wait(15 if sample is not None else seconds + 60)
            except subprocess.TimeoutExpired:
                pass
        if p.poll() is None:
            p.kill()
        out, err = p.communicate()
    if p.returncode:
        sys.exit(f"wrk failed: {err[-2000:]}")
    return parse_wrk(out)


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per-figure median over runs (errors summed)."""
    out = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    for k in ("non2xx", "socket_errors", "requests"):
        out[k] = sum(r[k] for r in runs)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--rate", type=int, default=2000, help="paced request rate for the SLO check")
    ap.add_argument("--soak", type=int, default=0, help="soak seconds at the paced rate (0 = skip)")
    ap.add_argument("--repeats", type=int, default=3, help="closed-loop and paced runs (median)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/api_load.py needs wrk: apt-get install wrk")
    rng = random.Random(1)
    pool = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(4000)]
    pool += [
        str(ipaddress.IPv6Address((0x2000 << 112) | rng.getrandbits(100))) for _ in range(1000)
    ]
    report: dict[str, object] = {
        "workers": a.workers, "cpus": os.cpu_count(), "loadavg_before": os.getloadavg(),
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="attrib-apibench-") as d:
        tmp = Path(d)
        proc, url, key = start(tmp, a.workers)
        try:
            hdr = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=url, headers=hdr, timeout=60) as c:
                for i in range(
                    0, len(pool), 1000
                ):  # warm the lookup cache like a SIEM's working set
                    c.post("/v1/enrich", json={"ips": pool[i : i + 1000]}).raise_for_status()
                batch = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(10_000)]
                times = []
                for _ in range(5):
                    t0 = time.perf_counter()
                    c.post("/v1/enrich", json={"ips": batch}).raise_for_status()
                    times.append(time.perf_counter() - t0)
            report["batch_10k_median_s"] = round(statistics.median(times), 3)
            closed = [
                wrk(url, lua_script(tmp, pool, key, None), 16, a.duration)
                for _ in range(max(1, a.repeats))
            ]
            report["closed_loop"] = {**_median(closed), "runs": closed}
            conns = 32
            delay = conns * 1000.0 / a.rate
            for _ in range(4):  # calibrate the per-connection think time to hit the target rate
                got = wrk(url, lua_script(tmp, pool, key, delay), conns, 4)["rps"]
                if not got or abs(got - a.rate) / a.rate < 0.03:
                    break
                delay = max(0.1, delay * got / a.rate)
            paced = [
                wrk(url, lua_script(tmp, pool, key, delay), conns, a.duration)
                for _ in range(max(1, a.repeats))
            ]
            report["paced"] = {"target_rps": a.rate, **_median(paced), "runs": paced}
            if a.soak:
                rss0 = rss_mb(proc)
                samples: list[tuple[float, float]] = []
                soak = wrk(url, lua_script(tmp, pool, key, delay), conns, a.soak, proc, samples)
                report["soak"] = {
                    "seconds": a.soak,
                    "target_rps": a.rate,
                    **soak,
                    "rss_start_mb": round(rss0, 1),
                    "rss_end_mb": round(rss_mb(proc), 1),
                    "rss_samples_mb": samples,
                    "server_alive": proc.poll() is None,
                }
        finally:
            proc.terminate()
            proc.wait(20)
    report["loadavg_after"] = os.getloadavg()
    if a.json:
        print(json.dumps(report, indent=2))
        return
    cl, pc = report["closed_loop"], report["paced"]
    assert isinstance(cl, dict) and isinstance(pc, dict)
    n = max(1, a.repeats)
    print(
        f"attrib serve, {a.workers} worker(s), {os.cpu_count()} CPUs shared with wrk -t1 on "
        f"loopback; load average before {report['loadavg_before']}, after "
        f"{report['loadavg_after']}"
    )
    print(
        f"closed loop (wrk -c16), median of {n} x {a.duration} s: {cl['rps']:.0f} req/s, "
        f"p50 {cl['p50_ms']:.2f} ms, p90 {cl['p90_ms']:.2f} ms, p99 {cl['p99_ms']:.2f} ms, "
        f"non-2xx {cl['non2xx']:.0f}"
    )
    print(
        f"paced {a.rate}/s (wrk -c32 with think time), median of {n} x {a.duration} s: "
        f"{pc['rps']:.0f} req/s, p50 {pc['p50_ms']:.2f} ms, p90 {pc['p90_ms']:.2f} ms, "
        f"p99 {pc['p99_ms']:.2f} ms (runs: "
        + ", ".join(f"{r['p99_ms']:.2f}" for r in pc["runs"])
        + f"), non-2xx {pc['non2xx']:.0f}  (goal: p99 <= 5 ms at >= 2000 req/s)"
    )
    print(f"10,000-address batch: median {report['batch_10k_median_s']} s over 5 (goal < 1 s)")
    if "soak" in report:
        s = report["soak"]
        assert isinstance(s, dict)
        print(
            f"soak {s['seconds']} s at {a.rate}/s: {s['requests']:.0f} requests, non-2xx {s['non2xx']:.0f}, "
            f"socket errors {s['socket_errors']:.0f}, RSS {s['rss_start_mb']} -> {s['rss_end_mb']} MB, "
            f"p50 {s['p50_ms']:.2f} ms, p99 {s['p99_ms']:.2f} ms, {s['rps']:.0f} req/s"
        )
        print("  RSS samples (s, MB): " + " ".join(f"{t:.0f}:{m}" for t, m in s["rss_samples_mb"]))


if __name__ == "__main__":
    main()
