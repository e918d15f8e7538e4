"""analyze --direction: an outbound capture (implant hosts beaconing to relays) ranks the peers."""

import json

import pandas as pd
import pytest

import attrib
from attrib.cli import main

FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
          "duration", "orig_bytes", "resp_bytes", "conn_state", "history", "orig_pkts",
          "resp_pkts"]  # fmt: skip


def _conn_log(path, rows):
    head = ["#separator \\x09", "#path\tconn", "#fields\t" + "\t".join(FIELDS)]
    body = ["\t".join(str(v) for v in r) for r in rows]
    path.write_text("\n".join(head + body) + "\n")


@pytest.fixture
def outbound_capture(tmp_path):
    """Three internal hosts beacon to four public peers for a day; one host also browses."""
    rows = []
    for i in range(240):
        host = f"10.1.0.{i % 3 + 1}"
        peer = f"203.0.113.{i % 4 + 10}"
        rows.append([1_700_000_000 + 360 * i, f"C{i}", host, 50000 + i, peer, 443, "tcp", "ssl",
                     1.5, 300, 900, "SF", "ShADadFf", 6, 5])  # fmt: skip
    rows.append([1_700_000_100, "Cx", "10.1.0.1", 40000, "10.1.0.9", 445, "tcp", "-", 0.1, 10,
                 10, "SF", "ShADadFf", 3, 3])  # fmt: skip
    p = tmp_path / "logs" / "conn.log"
    p.parent.mkdir()
    _conn_log(p, rows)
    return p.parent


def test_outbound_is_inferred_and_peers_list_their_hosts(outbound_capture, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["analyze", str(outbound_capture), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "direction: outbound (inferred: 0 connections in from public addresses, 240 out" in text
    o = pd.read_csv(out / "origins.csv")
    assert sorted(o["ip"]) == [f"203.0.113.{k}" for k in (10, 11, 12, 13)]
    assert set(o["n_internal_hosts"]) == {3}
    assert set(o["internal_hosts"]) == {"10.1.0.1; 10.1.0.2; 10.1.0.3"}
    run = json.loads((out / "run.json").read_text())
    assert run["direction"]["mode"] == "outbound" and run["direction"]["inferred"]
    assert run["direction"]["evidence"]["outbound"] == 240


def test_streamed_equals_materialised_outbound(outbound_capture):
    a = attrib.analyze(outbound_capture, progress=False)
    b = attrib.analyze(outbound_capture, progress=False, keep_events=False)
    assert a.meta["direction"] == b.meta["direction"]
    x = a.origins.sort_values("ip").reset_index(drop=True)
    y = b.origins.sort_values("ip").reset_index(drop=True)
    pd.testing.assert_frame_equal(x, y[x.columns])


def test_inbound_on_an_outbound_capture_says_why_nothing_was_found(outbound_capture, capsys):
    assert main(["analyze", str(outbound_capture), "--direction", "inbound"]) == 0
    text = capsys.readouterr().out
    assert "0 origins" in text
    assert "no origins: no event comes from a public address; 240 connection(s)" in text
    assert "try --direction outbound" in text


def test_bad_direction_is_one_line_error(outbound_capture):
    with pytest.raises(attrib.errors.ConfigError, match="--direction"):
        attrib.analyze(outbound_capture, direction="sideways")
