"""Suricata EVE reader: field mapping, flow_id join, ignored event types, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import attrib
from attrib.errors import TooManyBadRowsError, UnknownFormatError
from attrib.io import ReadReport, detect_format, open_source
from attrib.io.suricata import sniff
from attrib.schema import EVENT_DTYPES

EVE = Path(__file__).resolve().parents[1] / "data" / "suricata" / "eve.json"


def read(path: Path, **kw: Any) -> tuple[pd.DataFrame, ReadReport]:
    rep = ReadReport()
    df = attrib.read(path, report=rep, **kw)
    assert list(df.columns) == list(EVE_COLUMNS)
    return df, rep


EVE_COLUMNS = tuple(EVENT_DTYPES)


def by_uid(df: pd.DataFrame, uid: str) -> pd.Series:
    rows = df[df["uid"] == uid]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_sniffed_from_content(tmp_path):
    copy = tmp_path / "whatever.log"
    copy.write_bytes(EVE.read_bytes())
    assert detect_format(open_source(copy)) == "suricata"


def test_rows_and_ignored_event_types():
    df, rep = read(EVE)
    # 7 flow events, 1 tls without flow; dns/alert/stats ignored, not skipped
    assert len(df) == 8
    st = rep.files[0]
    assert st.skipped_total == 0
    assert dict(st.nulled) == {
        "ignored event_type dns": 1,
        "ignored event_type alert": 1,
        "ignored event_type stats": 1,
    }
    assert (df["source"] == "suricata").all()


def test_tls_joined_onto_flow():
    df, _ = read(EVE)
    r = by_uid(df, "1136547846432710")
    assert r["ts"] == pd.Timestamp("2023-01-25T18:35:43", tz="UTC")  # flow.start
    assert r["duration"] == 4.5
    assert (r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"]) == (
        "203.0.113.7",
        51544,
        "192.0.2.10",
        443,
    )
    assert r["proto"] == "tcp" and r["service"] == "tls" and r["conn_state"] == "SF"
    assert (r["pkts_out"], r["pkts_in"], r["ip_bytes_out"], r["ip_bytes_in"]) == (
        12,
        10,
        2176,
        6443,
    )
    assert pd.isna(r["bytes_out"])  # EVE bytes include headers: never Zeek payload bytes
    assert r["ja3"] == "e7eca2baf4458d095b7f45da28c16c34"
    assert r["ja4"] == "t13d1516h2_8daaf6152771_02713d6af862"
    assert r["tls_sni"] == "mail.example.org" and r["tls_version"] == "TLS 1.2"


def test_ssh_and_http_joined_first_value_wins():
    df, _ = read(EVE)
    ssh = by_uid(df, "3311111111111111")
    assert ssh["ssh_client"] == "OpenSSH_8.9p1 Ubuntu-3"
    assert ssh["hassh"] == "ec7378c1a92f5a8dde7e8b7a1ddf33d1"
    assert pd.isna(ssh["conn_state"])  # RST seen: not certain enough for a Zeek state
    http = by_uid(df, "4411111111111111")
    assert http["user_agent"] == "curl/8.1.2" and http["src_ip"] == "2001:db8::5"


def test_conn_state_icmp_udp_and_unjoined_tls():
    df, _ = read(EVE)
    assert by_uid(df, "5511111111111111")["conn_state"] == "S0"
    assert by_uid(df, "6611111111111111")["conn_state"] == "REJ"
    icmp = by_uid(df, "7711111111111111")
    assert icmp["proto"] == "icmp" and pd.isna(icmp["src_port"]) and pd.isna(icmp["dst_port"])
    udp = by_uid(df, "9911111111111111")
    assert udp["proto"] == "udp" and pd.isna(udp["service"])  # app_proto "failed"
    tls = by_uid(df, "8811111111111111")  # no flow event in the file: kept on its own
    assert tls["ts"] == pd.Timestamp("2023-01-25T18:39:00", tz="UTC")
    assert tls["tls_sni"] == "vpn.example.org" and pd.isna(tls["duration"])
    assert tls["event_type"] == "tls" and udp["event_type"] == "flow"


def test_join_across_chunks_and_buffer_overflow(tmp_path):
    lines = EVE.read_text().splitlines()
    # chunksize 3: at most 3 flows wait for their flow event in this file, so all joins hold
    df1 = pd.concat(list(attrib.iter_read(EVE, chunksize=3)), ignore_index=True)
    df2, _ = read(EVE)
    key = ["uid", "ja3", "ssh_client", "user_agent"]
    pd.testing.assert_frame_equal(
        df1.sort_values("uid")[key].reset_index(drop=True),
        df2.sort_values("uid")[key].reset_index(drop=True),
    )
    # Far more pending app events than chunksize: the oldest are emitted unjoined, none lost.
    tls = [json.loads(x) for x in lines if '"event_type":"tls"' in x][0]
    recs = []
    for i in range(30):
        recs.append({**tls, "flow_id": 10_000 + i})
    path = tmp_path / "eve.json"
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    out = pd.concat(list(attrib.iter_read(path, chunksize=4)), ignore_index=True)
    assert sorted(out["uid"]) == sorted(str(10_000 + i) for i in range(30))
    assert max(len(c) for c in attrib.iter_read(path, chunksize=4)) <= 8


def test_timestamp_offsets(tmp_path):
    rec = {
        "timestamp": "2023-01-25T18:35:43.123456+0100",
        "event_type": "http",
        "src_ip": "192.0.2.1",
        "src_port": 1,
        "dest_ip": "192.0.2.2",
        "dest_port": 80,
        "proto": "TCP",
        "http": {"http_user_agent": "x"},
    }
    path = tmp_path / "e.json"
    path.write_text(json.dumps(rec) + "\n")
    df, _ = read(path)
    assert df["ts"].iloc[0] == pd.Timestamp("2023-01-25T17:35:43.123456", tz="UTC")


# --- bad input ----------------------------------------------------------------------------------


def test_truncated_and_garbage_lines_counted_with_line_numbers(tmp_path):
    lines = EVE.read_text().splitlines()
    lines[3] = lines[3][:40]  # truncated JSON
    lines.insert(5, "\x00\x01\x02 binary junk")
    lines.append(lines[6][: len(lines[6]) // 2])  # file cut mid-line, no newline
    path = tmp_path / "eve.json"
    path.write_text("\n".join(lines))
    df, rep = read(path)
    st = rep.files[0]
    assert st.skipped["invalid JSON"] == 3
    assert st.first_bad_line["invalid JSON"] == 4
    assert len(df) == 8  # the ssh event (line 4) was lost; its flow row stays, unjoined
    assert pd.isna(by_uid(df, "3311111111111111")["ssh_client"])


def test_json_of_wrong_shape_is_bad_rows(tmp_path):
    lines = EVE.read_text().splitlines()
    lines.insert(2, json.dumps({"ts": 1.5, "uid": "C1", "id.orig_h": "1.2.3.4"}))
    lines.insert(3, "[1, 2, 3]")
    path = tmp_path / "eve.json"
    path.write_text("\n".join(lines) + "\n")
    _, rep = read(path)
    st = rep.files[0]
    assert st.skipped == {"not an EVE record (no event_type/timestamp)": 1, "not a JSON object": 1}


def test_binary_garbage_is_unknown_format(tmp_path):
    path = tmp_path / "garbage.json"
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(UnknownFormatError, match="garbage.json"):
        attrib.read(path)
    assert sniff(path.read_bytes()) is None


def test_wrong_forced_format(tmp_path):
    with pytest.raises(UnknownFormatError, match="not okta"):
        attrib.read(EVE, format="okta")
    zeekish = tmp_path / "conn.json"
    zeekish.write_text(json.dumps({"ts": 1.0, "uid": "C1", "id.orig_h": "1.2.3.4"}) + "\n")
    with pytest.raises(UnknownFormatError, match="not suricata"):
        attrib.read(zeekish, format="suricata")


def test_mixed_encodings_and_huge_lines(tmp_path):
    lines = EVE.read_bytes().splitlines()
    http = json.loads(lines[4])
    http["http"]["http_user_agent"] = "Navigateur-é"
    latin = json.dumps(http, ensure_ascii=False).encode("latin-1")
    huge = json.dumps({**http, "pad": "x" * 200_000}).encode()
    path = tmp_path / "eve.json"
    path.write_bytes(b"\n".join([latin, huge, *lines[6:]]) + b"\n")
    df, rep = read(path, options={"max_line_bytes": 100_000})
    st = rep.files[0]
    assert st.skipped == {"line too long": 1} and st.first_bad_line["line too long"] == 2
    assert st.nulled["non-UTF-8 line decoded as Latin-1"] == 1
    assert by_uid(df, "4411111111111111")["user_agent"] == "Navigateur-é"


def test_too_many_bad_rows_fails(tmp_path):
    path = tmp_path / "eve.json"
    path.write_text(EVE.read_text() + "{broken\n" * 20)
    with pytest.raises(TooManyBadRowsError, match="more than 5 bad rows"):
        attrib.read(path, max_bad_rows=5)


def test_cli_one_line_error_for_garbage(tmp_path, capsys):
    from attrib.cli import main

    path = tmp_path / "x.json"
    path.write_bytes(b"\xff\xfe\x00garbage" * 100)
    rc = main(["read", str(path), "--format", "suricata"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "x.json" in err and "Traceback" not in err


def test_app_events_of_one_flow_merge_across_batches(tmp_path):
    recs = [json.loads(x) for x in EVE.read_text().splitlines()]
    tls = next(r for r in recs if r["event_type"] == "tls" and r["flow_id"] == 1136547846432710)
    flow = next(r for r in recs if r["event_type"] == "flow" and r["flow_id"] == 1136547846432710)
    other = next(r for r in recs if r["event_type"] == "flow" and r["flow_id"] == 5511111111111111)
    http = {**tls, "event_type": "http", "http": {"http_user_agent": "Agent/1"}}
    del http["tls"]
    path = tmp_path / "eve.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in [tls, other, http, flow]))
    df = pd.concat(list(attrib.iter_read(path, chunksize=2)), ignore_index=True)
    assert len(df) == 2
    row = by_uid(df, "1136547846432710")
    assert row["tls_sni"] == "mail.example.org" and row["user_agent"] == "Agent/1"
    assert row["ja4"] == "t13d1516h2_8daaf6152771_02713d6af862" and row["event_type"] == "flow"
