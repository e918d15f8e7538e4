"""``attrib read`` on Zeek and flow inputs: summaries, outputs, options, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from _zeek_data import BTEST, CONN_FIELDS, CONN_TYPES, DATA, REPO, conn_row, zeek_tsv

from attrib.cli import main
from attrib.schema import EVENT_COLUMNS


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["read", *args])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _ssl(uids: list[str]) -> bytes:
    fields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "server_name", "ja4"]
    types = ["time", "string", "addr", "port", "addr", "port", "string", "string"]
    rows = [[1.7e9 + i, u, "10.0.0.1", 1000 + i, "192.0.2.7", 443, f"h{i}.example", "t13d1516h2_x"]
            for i, u in enumerate(uids)]  # fmt: skip
    return zeek_tsv(fields, types, rows, path="ssl")


def test_zeek_to_parquet_with_join(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "conn.log").write_bytes(
        zeek_tsv(CONN_FIELDS, CONN_TYPES, [conn_row(i) for i in range(3)])
    )
    (tmp_path / "ssl.log").write_bytes(_ssl([f"C{1:017d}", "Cnomatch"]))
    out = tmp_path / "events.parquet"
    rc, stdout, err = _run(capsys, str(tmp_path / "*.log"), "--out", str(out))
    assert rc == 0 and not err
    assert "conn.log: zeek, 3 rows" in stdout and "ssl.log: zeek, 2 rows" in stdout
    assert f"total: 5 rows, 0 skipped -> {out}" in stdout
    df = pd.read_parquet(out)
    assert list(df.columns) == list(EVENT_COLUMNS) and len(df) == 4  # one ssl row merged
    row = df.set_index("uid").loc[f"C{1:017d}"]
    assert (row["tls_sni"], row["ja4"], row["event_type"]) == ("h0.example", "t13d1516h2_x", "conn")
    assert not list(tmp_path.glob("*.part"))


def test_json_summary_reports_masked_timestamps(capsys: pytest.CaptureFixture[str]) -> None:
    p = BTEST / "core.pppoe" / "conn.log"
    rc, stdout, _ = _run(capsys, str(p), "--json")
    assert rc == 0
    rep = json.loads(stdout)
    (f,) = rep["files"]
    assert f["format"] == "zeek" and f["rows"] == 7 and f["nulled"] == {"masked timestamp": 7}


def test_flow_mapping_option_and_csv_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "flows.csv"
    m = REPO / "data" / "mappings" / "argus-csv.toml"
    rc, stdout, err = _run(capsys, str(DATA / "flow" / "argus.csv"), "--format", "flow",
                           "--flow-mapping", str(m), "--out", str(out))  # fmt: skip
    assert rc == 0 and not err and "argus.csv: flow, 4 rows" in stdout
    df = pd.read_csv(out)
    assert (
        list(df["src_ip"])[:2] == ["203.0.113.9", "2001:db8::5"]
        and df["ip_bytes_out"].iloc[0] == 1820
    )


def test_nfdump_summary_line(capsys: pytest.CaptureFixture[str]) -> None:
    rc, stdout, _ = _run(capsys, str(DATA / "flow" / "nfdump-summary.csv"))
    assert (
        rc == 0
        and "nfdump-summary.csv: nfdump, 3 rows" in stdout
        and "total: 3 rows, 0 skipped" in stdout
    )


def test_skipped_rows_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = zeek_tsv(CONN_FIELDS, CONN_TYPES, [conn_row(i) for i in range(4)]).split(b"\n")
    lines[9] = b"not\ta\tconn\trow"
    p = tmp_path / "conn.log"
    p.write_bytes(b"\n".join(lines))
    rc, stdout, _ = _run(capsys, str(p))
    assert rc == 0
    assert "3 rows, 1 skipped (field count mismatch (expected 21): 1)" in stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["{d}/nope.log"], "no such file"),
        (["{d}/argus.csv"], "--flow-mapping"),
        (["{d}/argus.csv", "--format", "flow", "--flow-mapping", "{d}/bad.toml"], "TOML"),
        (["{d}/conn.log", "--out", "{d}/events.json"], "--out must end"),
    ],
)
def test_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    (tmp_path / "argus.csv").write_bytes((DATA / "flow" / "argus.csv").read_bytes())
    (tmp_path / "bad.toml").write_text("[columns\n")
    (tmp_path / "conn.log").write_bytes(zeek_tsv(CONN_FIELDS, CONN_TYPES, [conn_row(0)]))
    rc, _, err = _run(capsys, *[a.format(d=tmp_path) for a in args])
    assert rc != 0 and err.count("\n") == 1 and needle in err and "Traceback" not in err
