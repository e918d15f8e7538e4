#!/usr/bin/env python
"""Identity-log and EVE readers: speed and peak memory against naive whole-file loading.

Generates N Azure Monitor sign-in records (realistic size: location, device detail, a list of
Conditional Access policies, ~2.5 KB each) into ``bench/_work/identity/`` in three layouts
(JSON lines, JSON array, ``{"records": [...]}``), plus N Suricata EVE lines (tls + flow pairs),
then times, each in a fresh process so peak RSS is that run's own:

* attrib: ``attrib.iter_read(path)`` consumed chunk by chunk (what ``attrib read`` does);
* reference: what one would write by hand: ``pandas.read_json(lines=True)`` for JSON lines,
  ``json.load`` + ``pandas.json_normalize`` for arrays/wrappers.

Prints the median time of ``--repeat`` runs, rows/s, the ratio reference/attrib and peak RSS.
The claim checked: attrib's peak RSS stays bounded (independent of N) while the reference
grows with the file.

    python bench/read_identity.py [--n 200000] [--repeat 3] [--layouts lines,array,records,eve]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work" / "identity"


def signin(i: int, rng: random.Random) -> dict:
    ip = f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    code = rng.choice([0, 0, 0, 0, 50126, 50074, 50140, 53003])
    t = f"2024-03-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}.{i % 10_000_000:07d}Z"
    return {
        "time": t,
        "resourceId": "/tenants/a2aa49aa-2c0c-49d2-af87-f402c421df0b/providers/Microsoft.aadiam",
        "operationName": "Sign-in activity",
        "operationVersion": "1.0",
        "category": "SignInLogs",
        "tenantId": "a2aa49aa-2c0c-49d2-af87-f402c421df0b",
        "resultType": str(code),
        "resultSignature": "None",
        "durationMs": 0,
        "callerIpAddress": ip,
        "correlationId": f"{i:08x}-0000-4000-8000-000000000000",
        "identity": "User",
        "Level": 4,
        "location": "NL",
        "properties": {
            "id": f"{i:08x}-1111-4000-8000-000000000000",
            "createdDateTime": t,
            "userDisplayName": f"User {i % 5000}",
            "userPrincipalName": f"user{i % 5000}@contoso.example",
            "userId": f"{i % 5000:08x}-2222-4000-8000-000000000000",
            "appId": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
            "appDisplayName": "Azure Portal",
            "ipAddress": ip,
            "status": {"errorCode": code, "failureReason": "Other."},
            "clientAppUsed": "Browser",
            "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
            "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
            "deviceDetail": {
                "deviceId": "",
                "operatingSystem": "Windows10",
                "browser": "Chrome 122.0.0",
            },
            "location": {
                "city": "Amsterdam",
                "state": "Noord-Holland",
                "countryOrRegion": "NL",
                "geoCoordinates": {"latitude": 52.374, "longitude": 4.8897},
            },
            "autonomousSystemNumber": rng.randint(1, 400_000),
            "appliedConditionalAccessPolicies": [
                {
                    "id": f"{k:08x}-3333-4000-8000-000000000000",
                    "displayName": f"CA{k:03d} policy",
                    "enforcedGrantControls": ["Mfa"],
                    "enforcedSessionControls": [],
                    "result": "notApplied",
                }
                for k in range(6)
            ],
            "authenticationDetails": [{"authenticationMethod": "Password", "succeeded": code == 0}],
            "isInteractive": True,
            "riskDetail": "none",
            "riskLevelAggregated": "none",
        },
    }


def eve_pair(i: int, rng: random.Random) -> list[dict]:
    ip = f"203.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    base = {
        "flow_id": 10**12 + i,
        "in_iface": "eth0",
        "src_ip": ip,
        "src_port": 1024 + i % 60000,
        "dest_ip": "192.0.2.10",
        "dest_port": 443,
        "proto": "TCP",
    }
    tls = {
        **base,
        "timestamp": "2023-01-25T18:35:43.123456+0000",
        "event_type": "tls",
        "tls": {
            "sni": "mail.example.org",
            "version": "TLS 1.2",
            "ja3": {"hash": "e7eca2baf4458d095b7f45da28c16c34", "string": "771,4865"},
            "ja4": "t13d1516h2_8daaf6152771_02713d6af862",
        },
    }
    flow = {
        **base,
        "timestamp": "2023-01-25T18:37:43.123456+0000",
        "event_type": "flow",
        "app_proto": "tls",
        "flow": {
            "pkts_toserver": 12,
            "pkts_toclient": 10,
            "bytes_toserver": 2176,
            "bytes_toclient": 6443,
            "start": "2023-01-25T18:35:43.000000+0000",
            "end": "2023-01-25T18:35:47.500000+0000",
            "state": "closed",
            "reason": "timeout",
        },
        "tcp": {"tcp_flags_ts": "1b", "tcp_flags_tc": "1b"},
    }
    return [tls, flow]


def generate(n: int) -> dict[str, Path]:
    WORK.mkdir(parents=True, exist_ok=True)
    paths = {k: WORK / f"{k}-{n}.json" for k in ("lines", "array", "records", "eve")}
    if all(p.exists() for p in paths.values()):
        return paths
    rng = random.Random(0)
    with (
        paths["lines"].open("w") as fl,
        paths["array"].open("w") as fa,
        paths["records"].open("w") as fr,
    ):
        fa.write("[")
        fr.write('{"records": [')
        for i in range(n):
            s = json.dumps(signin(i, rng))
            fl.write(s + "\n")
            sep = "," if i else ""
            fa.write(sep + s)
            fr.write(sep + s)
        fa.write("]")
        fr.write("]}")
    with paths["eve"].open("w") as fe:
        for i in range(n // 2):
            for rec in eve_pair(i, rng):
                fe.write(json.dumps(rec) + "\n")
    return paths


def child(method: str, path: str) -> None:
    sys.path.insert(0, str(ROOT))
    t0 = time.perf_counter()
    if method == "attrib":
        import attrib

        rows = sum(len(c) for c in attrib.iter_read(path))
    else:
        import pandas as pd

        if Path(path).name.startswith(("lines", "eve")):
            rows = len(pd.read_json(path, lines=True))
        else:
            with open(path) as fh:
                doc = json.load(fh)
            recs = doc["records"] if isinstance(doc, dict) else doc
            rows = len(pd.json_normalize(recs))
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": dt, "rows": rows, "rss_mb": rss}))


def run(method: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", method, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", nargs=2)
    ap.add_argument("--layouts", default="lines,array,records,eve")
    a = ap.parse_args()
    if a.child:
        child(*a.child)
        return
    paths = generate(a.n)
    print(f"N={a.n} records per layout; medians of {a.repeat} runs (fresh process each)")
    base = run("attrib", ROOT / "tests" / "data" / "signin" / "graph_signins.json")["rss_mb"]
    print(f"baseline peak RSS (import + 2-row file): {base:.0f} MiB")
    for layout, path in paths.items():
        if layout not in a.layouts.split(","):
            continue
        size = path.stat().st_size / 2**20
        res = {m: [run(m, path) for _ in range(a.repeat)] for m in ("attrib", "reference")}
        med = {m: statistics.median(r["seconds"] for r in rs) for m, rs in res.items()}
        rss = {m: max(r["rss_mb"] for r in rs) for m, rs in res.items()}
        rows = res["attrib"][0]["rows"]
        print(
            f"{layout:8s} {size:7.0f} MiB  rows={rows:>8d}  attrib {med['attrib']:6.2f}s "
            f"({rows / med['attrib']:,.0f} rows/s, peak {rss['attrib']:.0f} MiB)  "
            f"reference {med['reference']:6.2f}s (peak {rss['reference']:.0f} MiB)  "
            f"ratio ref/attrib {med['reference'] / med['attrib']:.2f}"
        )


if __name__ == "__main__":
    main()
