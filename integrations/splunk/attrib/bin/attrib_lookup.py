#!/usr/bin/env python3
"""Splunk external (scripted) lookup that asks attrib's service about origin addresses.

Splunk runs it with the lookup's ``fields_list`` as a CSV header on stdin and expects the same
CSV, filled in, on stdout. Only the Python standard library is used (Splunk's bundled Python).

Configuration (environment of splunkd, or ``attrib_lookup.conf`` beside this script with lines
``url = ...`` and ``api_key = ...``): ``ATTRIB_URL`` (e.g. ``https://attrib.example:8787``),
``ATTRIB_API_KEY``.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import urllib.request
from pathlib import Path

# lookup field -> path in attrib's ECS-shaped answer
FIELDS = {
    "asn": ("source", "as", "number"),
    "as_org": ("source", "as", "organization", "name"),
    "country": ("source", "geo", "country_iso_code"),
    "city": ("source", "geo", "city_name"),
    "net_type": ("attrib", "net_type"),
    "net_type_confidence": ("attrib", "net_type_confidence"),
    "tags": ("attrib", "tags"),
    "score": ("attrib", "score"),
    "cluster": ("attrib", "cluster"),
    "first_seen": ("attrib", "first_seen"),
    "last_seen": ("attrib", "last_seen"),
    "reasons": ("attrib", "reasons"),
}
BATCH = 5000


def _config() -> tuple[str, str]:
    conf: dict[str, str] = {}
    p = Path(__file__).with_name("attrib_lookup.conf")
    if p.exists():
        for line in p.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                k, v = line.split("=", 1)
                conf[k.strip()] = v.strip()
    url = os.environ.get("ATTRIB_URL") or conf.get("url") or "http://127.0.0.1:8787"
    key = os.environ.get("ATTRIB_API_KEY") or conf.get("api_key") or ""
    return url.rstrip("/"), key


def _get(ans: dict, path: tuple[str, ...]) -> str:
    node: object = ans
    for p in path:
        if not isinstance(node, dict) or p not in node:
            return ""
        node = node[p]
    if node is None:
        return ""
    if isinstance(node, list):
        return ",".join(map(str, node))
    return str(node)


def enrich(ips: list[str], url: str, key: str) -> dict[str, dict]:
    """Ask the service about ``ips`` in batches; valid answers by input address."""
    out: dict[str, dict] = {}
    for i in range(0, len(ips), BATCH):
        chunk = ips[i : i + BATCH]
        req = urllib.request.Request(
            f"{url}/v1/enrich",
            data=json.dumps({"ips": chunk}).encode(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            items = json.load(resp)["items"]
        for given, item in zip(chunk, items):
            if "error" not in item:
                out[given] = item
    return out


def main(argv: list[str]) -> int:
    """Read Splunk's CSV on stdin, write it back filled in."""
    ip_field = argv[1] if len(argv) > 1 else "ip"
    reader = csv.DictReader(sys.stdin)
    rows = list(reader)
    header = reader.fieldnames or [ip_field, *FIELDS]
    url, key = _config()
    ips = sorted({r[ip_field] for r in rows if r.get(ip_field)})
    answers = enrich(ips, url, key) if ips else {}
    writer = csv.DictWriter(sys.stdout, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        ans = answers.get(r.get(ip_field) or "")
        if ans is not None:
            for f, path in FIELDS.items():
                if f in header:
                    r[f] = _get(ans, path)
        writer.writerow(r)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
