"""A Zeek folder as Zeek writes it: every log type reads; logs without endpoints are named, unused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _zeek_data import CONN_FIELDS, CONN_TYPES, conn_row, zeek_tsv
from _zeek_folder import LOGS, NO_ENDPOINTS, write_zeek_folder

from attrib.cli import main
from attrib.io import ReadReport, read
from attrib.io.zeek import sniff


@pytest.mark.parametrize("fmt", ["tsv", "json"])
def test_whole_zeek_folder_reads_and_names_unused_logs(tmp_path: Path, fmt: str) -> None:
    counts = write_zeek_folder(tmp_path, fmt, rows=3)
    rep = ReadReport()
    df = read(tmp_path, report=rep)
    assert rep.failed == []
    by_name = {Path(f.path).stem: f for f in rep.files}
    assert set(by_name) == set(counts)
    assert {f.format for f in rep.files} == {"zeek"}
    for name in NO_ENDPOINTS:
        st = by_name[name]
        assert st.rows == 0 and st.skipped_total == 0, name
        reason = f"{name} log: no connection endpoints (id.orig_h/id.resp_h)"
        assert dict(st.unused) == {reason: 3}, (name, st.unused)
        assert st.as_dict()["unused"] == {reason: 3}
    for name in ("conn", "dns", "http", "ssl", "weird", "notice"):
        assert by_name[name].rows == 3 and not by_name[name].unused, name
    # ssl and http rows joined onto their conn rows; dns, weird and notice rows stay events
    assert len(df) == 3 + 3 * 3
    assert df["src_ip"].notna().all()
    assert set(df["event_type"]) == {"conn", "dns", "weird", "notice"}


@pytest.mark.parametrize("name", list(LOGS))
def test_json_logs_without_a_connection_id_are_sniffed_as_zeek(tmp_path: Path, name: str) -> None:
    write_zeek_folder(tmp_path, "json", rows=1)
    assert sniff((tmp_path / f"{name}.log").read_bytes()) == "zeek"


def test_json_log_type_inferred_without_path(tmp_path: Path) -> None:
    write_zeek_folder(tmp_path, "json", rows=2)
    rep = ReadReport()
    read(tmp_path / "x509.log", report=rep)
    assert rep.files[0].unused == {"x509 log: no connection endpoints (id.orig_h/id.resp_h)": 2}


def test_mixed_stream_keeps_connection_rows(tmp_path: Path) -> None:
    recs = [
        {"_path": "x509", "ts": 1.7e9, "fingerprint": "ab", "certificate.version": 3},
        {"_path": "conn", "ts": 1.7e9, "uid": "C1", "id.orig_h": "10.0.0.1", "id.orig_p": 1,
         "id.resp_h": "192.0.2.1", "id.resp_p": 443, "proto": "tcp"},
        {"_path": "dhcp", "ts": 1.7e9, "uids": ["C9"], "msg_types": ["ACK"]},
    ]  # fmt: skip
    p = tmp_path / "stream.json"
    p.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    rep = ReadReport()
    df = read(p, report=rep)
    assert list(df["uid"]) == ["C1"]
    st = rep.files[0]
    assert st.rows == 1 and st.skipped_total == 0
    assert sum(st.unused.values()) == 2 and any(k.startswith("dhcp log") for k in st.unused)


@pytest.mark.parametrize("lead", [b"\t", b" ", b"  \t"])
def test_leading_whitespace_before_header_lines(tmp_path: Path, lead: bytes) -> None:
    """A real Stratosphere conn.log starts with a stray tab before ``#separator``."""
    data = zeek_tsv(CONN_FIELDS, CONN_TYPES, [conn_row(i) for i in range(4)])
    lines = data.split(b"\n")
    lines[0] = lead + lines[0]
    lines[6] = lead + lines[6]  # "#fields", too
    p = tmp_path / "conn.log"
    p.write_bytes(b"\n".join(lines))
    assert sniff(p.read_bytes()) == "zeek"
    rep = ReadReport()
    df = read(p, report=rep)
    assert len(df) == 4 and rep.files[0].skipped_total == 0
    assert df["bytes_out"].tolist() == [100, 101, 102, 103]


def test_leading_whitespace_before_a_later_section_header(tmp_path: Path) -> None:
    one = zeek_tsv(CONN_FIELDS, CONN_TYPES, [conn_row(i) for i in range(2)], close=False)
    two = zeek_tsv(CONN_FIELDS, CONN_TYPES, [conn_row(i) for i in range(2, 5)])
    two = b"\n".join(b"\t" + ln if ln.startswith(b"#") else ln for ln in two.split(b"\n"))
    p = tmp_path / "conn.log"
    p.write_bytes(one + two)
    rep = ReadReport()
    df = read(p, report=rep)
    assert len(df) == 5 and rep.files[0].skipped_total == 0


def test_unmapped_table_in_a_folder_is_skipped_by_name(tmp_path: Path) -> None:
    write_zeek_folder(tmp_path, "json", rows=1)
    (tmp_path / "inventory.csv").write_text("host,owner,room\na,b,c\n")
    rep = ReadReport()
    read(tmp_path, report=rep)
    assert [Path(p).name for p, _ in rep.failed] == ["inventory.csv"]
    assert "--flow-mapping" in rep.failed[0][1]
    assert not any(f.path.endswith("inventory.csv") for f in rep.files)


@pytest.mark.parametrize("fmt", ["tsv", "json"])
def test_analyze_runs_on_a_whole_zeek_folder(tmp_path: Path, fmt: str, capsys: Any) -> None:
    """``attrib analyze DIR`` on conn, dns, http, ssl, x509, files, arp, dhcp, notice, ..."""
    logs = tmp_path / "zeek"
    write_zeek_folder(logs, fmt, rows=4)
    out = tmp_path / "out"
    assert main(["analyze", str(logs), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "not used: 10 file(s) without connection endpoints: arp.log, capture_loss" in text
    run = json.loads((out / "run.json").read_text())
    files = {Path(f["path"]).stem: f for f in run["read"]["files"]}
    assert run["read"]["failed"] == [] and len(files) == 16
    assert files["x509"]["unused"] == {"x509 log: no connection endpoints (id.orig_h/id.resp_h)": 4}
    assert files["conn"]["rows"] == 4 and files["conn"]["unused"] == {}
