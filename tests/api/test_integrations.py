"""The shipped SIEM integration artefacts, run against a real server."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

from .conftest import Server

ROOT = Path(__file__).resolve().parents[2]
SPLUNK = ROOT / "integrations" / "splunk" / "attrib" / "bin" / "attrib_lookup.py"


def test_splunk_external_lookup_fills_fields(server: Server) -> None:
    header = "ip,asn,as_org,country,city,net_type,net_type_confidence,tags,score,cluster,first_seen,last_seen,reasons"
    stdin = (
        header
        + "\n8.8.8.8,,,,,,,,,,,,\n,,,,,,,,,,,,\nnot-an-ip,,,,,,,,,,,,\n10.1.2.3,,,,,,,,,,,,\n"
    )
    env = {**os.environ, "ATTRIB_URL": server.url, "ATTRIB_API_KEY": server.key}
    out = subprocess.run(
        [sys.executable, str(SPLUNK), "ip"],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    ).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["ip"] for r in rows] == ["8.8.8.8", "", "not-an-ip", "10.1.2.3"]
    assert rows[0]["asn"].isdigit() and rows[0]["net_type"]
    assert rows[2]["asn"] == "" and rows[2]["net_type"] == ""  # invalid stays empty
    assert "private" in rows[3]["tags"]


def test_transforms_conf_matches_script_fields() -> None:
    conf = (SPLUNK.parents[1] / "default" / "transforms.conf").read_text()
    line = next(x for x in conf.splitlines() if x.startswith("fields_list"))
    fields = [f.strip() for f in line.split("=", 1)[1].split(",")]
    sys.path.insert(0, str(SPLUNK.parent))
    try:
        import attrib_lookup  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    assert fields[0] == "ip" and set(fields[1:]) == set(attrib_lookup.FIELDS)
