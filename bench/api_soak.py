"""API soak: mixed valid and hostile traffic against a real ``attrib serve`` on loopback.

Starts its own server (fresh key database, 127.0.0.1, a free port), sends requests from a few
client threads for ``--seconds`` (valid lookups, batches and scores, and hostile ones: bad
keys, malformed and deeply nested JSON, non-finite numbers, oversized bodies, invalid
addresses, slow headers), samples the server's RSS every second, then stops the server.
Prints one JSON line: requests by status class, 5xx answers, transport errors, and the
server's RSS at start and peak; exit status 1 on any 5xx other than 503 (connection cap) or
when the peak RSS grew more than ``--rss-growth-mb`` over the start::

    nice -n 10 python bench/api_soak.py --seconds 120
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
_PUBLIC = ["8.8.8.8", "1.1.1.1", "9.9.9.9", "2001:4860:4860::8888", "81.2.69.160"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _start(tmp: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "ATTRIB_ACCESS_LOG": "false",
           "ATTRIB_HEADER_TIMEOUT_S": "3"}  # fmt: skip
    keys = tmp / "keys.db"
    key = subprocess.run([sys.executable, "-m", "attrib", "keys", "create", "soak", "--keys-db",
                          str(keys)], capture_output=True, text=True, check=True,
                         env=env).stdout.strip()  # fmt: skip
    port = _free_port()
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "attrib", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--keys-db", str(keys)], stdout=log,
                            stderr=subprocess.STDOUT, env=env)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc, url, key
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("server did not become ready")


def _one(c: httpx.Client, url: str, key: str, rng: random.Random) -> int:
    auth = {"Authorization": f"Bearer {key}"}
    k = rng.randrange(12)
    if k < 4:
        return c.get(f"{url}/v1/ip/{rng.choice(_PUBLIC)}", headers=auth).status_code
    if k == 4:
        ips = [rng.choice(_PUBLIC) for _ in range(rng.randint(1, 500))] + ["not-an-ip"]
        return c.post(f"{url}/v1/enrich", json={"ips": ips}, headers=auth).status_code
    if k == 5:
        ev = [{"src_ip": f"198.51.100.{i % 250}", "ts": "2024-01-01T00:00:00Z", "user": "u",
               "outcome": "failure"} for i in range(rng.randint(1, 50))]  # fmt: skip
        return c.post(f"{url}/v1/score", json={"events": ev}, headers=auth).status_code
    if k == 6:
        return c.get(
            f"{url}/v1/ip/8.8.8.8", headers={"Authorization": "Bearer atb_x_y"}
        ).status_code
    if k == 7:
        body = b'{"ips": ' + b"[" * rng.randint(100, 50_000)
        return c.post(f"{url}/v1/enrich", content=body,
                      headers={**auth, "Content-Type": "application/json"}).status_code  # fmt: skip
    if k == 8:
        body = rng.choice([b'{"events":[{"src_ip":"192.0.2.1","bytes_out":Infinity}]}',
                           b'{"events":[{"src_ip":"192.0.2.1","bytes_out":1e400}]}',
                           b'{"events": "x"}', b"\xff\xfe garbage", b"{" + b"1" * 5000])  # fmt: skip
        return c.post(f"{url}/v1/score", content=body,
                      headers={**auth, "Content-Type": "application/json"}).status_code  # fmt: skip
    if k == 9:
        body = b'{"ips": ["' + b"1" * (9 << 20) + b'"]}'  # over the body limit
        return c.post(f"{url}/v1/enrich", content=body,
                      headers={**auth, "Content-Type": "application/json"}).status_code  # fmt: skip
    if k == 10:
        return c.get(f"{url}/v1/ip/{rng.choice(['999.1.1.1', '%00', 'a' * 5000, '::g'])}",
                     headers=auth).status_code  # fmt: skip
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:  # slow headers
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-slow: ")
        time.sleep(rng.random())
    return 0


def soak(seconds: float, clients: int, seed: int) -> dict[str, object]:
    """Run the soak; return the figures."""
    with tempfile.TemporaryDirectory(prefix="attrib-soak-") as d:
        proc, url, key = _start(Path(d))
        try:
            start_rss = _rss_mb(proc.pid)
            peak = [start_rss]
            stop = time.monotonic() + seconds
            statuses: Counter[str] = Counter()
            errors = [0]
            lock = threading.Lock()

            def client(i: int) -> None:
                rng = random.Random(seed + i)
                with httpx.Client(timeout=30) as c:
                    while time.monotonic() < stop:
                        try:
                            code = _one(c, url, key, rng)
                        except (httpx.HTTPError, OSError):
                            code = -1
                        with lock:
                            if code < 0:
                                errors[0] += 1
                            else:
                                statuses[str(code)] += 1

            threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads):
                time.sleep(1)
                peak[0] = max(peak[0], _rss_mb(proc.pid))
            for t in threads:
                t.join()
            alive = proc.poll() is None
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    five = sum(v for k, v in statuses.items() if k.startswith("5") and k != "503")
    return {"seconds": seconds, "clients": clients, "requests": sum(statuses.values()),
            "by_status": dict(sorted(statuses.items())), "server_5xx": five,
            "transport_errors": errors[0], "server_alive_at_end": alive,
            "rss_start_mb": round(start_rss, 1), "rss_peak_mb": round(peak[0], 1)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rss-growth-mb", type=float, default=300)
    a = ap.parse_args(argv)
    res = soak(a.seconds, a.clients, a.seed)
    print(json.dumps(res))
    grew = float(res["rss_peak_mb"]) - float(res["rss_start_mb"])  # type: ignore[arg-type]
    ok = res["server_5xx"] == 0 and res["server_alive_at_end"] and grew <= a.rss_growth_mb
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
