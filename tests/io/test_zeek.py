"""The Zeek reader: reference logs, headers and escapes, JSON shapes, joins, property tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _zeek_data import (
    BTEST,
    CONN_FIELDS,
    CONN_TYPES,
    OTRF,
    btest_logs,
    conn_row,
    data_lines,
    otrf_logs,
    zeek_tsv,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attrib
from attrib.io import ReadReport, iter_read, read
from attrib.io.zeek import join_by_uid, read_tsv_records, sniff
from attrib.schema import EVENT_DTYPES, conform_events


def _read(path: Path | list[Path], **kw: object) -> tuple[pd.DataFrame, ReadReport]:
    rep = ReadReport()
    df = read(path, report=rep, **kw)  # type: ignore[arg-type]
    return df, rep


def _assert_canonical(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(EVENT_DTYPES)
    for col, dtype in EVENT_DTYPES.items():
        assert str(df[col].dtype) == str(pd.Series([], dtype=dtype).dtype), col  # type: ignore[call-overload]


# --- the reference logs ---------------------------------------------------------------------


@pytest.mark.parametrize("path", btest_logs(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_btest_baselines_read_exactly(path: Path) -> None:
    rep = ReadReport()
    chunks = list(iter_read(path, report=rep))
    st_ = rep.files[0]
    assert st_.format == "zeek"
    assert st_.rows == data_lines(path) and st_.skipped_total == 0
    df = pd.concat(chunks, ignore_index=True)
    assert df["src_ip"].notna().all() and df["dst_port"].notna().all()
    masked = st_.nulled.get("masked timestamp", 0)
    assert masked == int(df["ts"].isna().sum())
    assert set(df["event_type"].unique()) == {path.stem}


#: rows without connection endpoints in the OTRF logs (files/x509 rows; weird rows about the capture)
_OTRF_UNUSED = {"SCRANTON_weird.log": 2, "UTICA-C_weird.log": 2, "UTICA-ONE-DRIVE_weird.log": 1,
                "UTICA-ONE-DRIVE_files.log": 30, "UTICA-ONE-DRIVE_x509.log": 10}  # fmt: skip


@pytest.mark.parametrize("path", otrf_logs(), ids=lambda p: p.name)
def test_otrf_logs_read_exactly(path: Path) -> None:
    rep = ReadReport()
    n = sum(len(c) for c in iter_read(path, report=rep))
    st_ = rep.files[0]
    assert st_.format == "zeek"
    # rows naming no endpoint (weird rows about the capture itself) are counted, not events
    unused = sum(st_.unused.values())
    assert n + unused == data_lines(path) and st_.skipped_total == 0
    assert unused == _OTRF_UNUSED.get(path.name, 0)
    assert not st_.nulled


def test_btest_conn_values_exact() -> None:
    p = BTEST / "opt.basic" / "conn.log"
    df, rep = _read(p)
    _assert_canonical(df)
    r = df.iloc[0]
    assert (r.uid, r.src_ip, r.src_port, r.dst_ip, r.dst_port) == (
        "CHhAvVGS1DHFjwGM9", "141.142.220.202", 5353, "224.0.0.251", 5353,
    )  # fmt: skip
    assert r.proto == "udp" and r.service == "dns" and r.conn_state == "S0" and r.history == "D"
    assert pd.isna(r.duration) and pd.isna(r.bytes_out) and r.pkts_out == 1 and r.ip_bytes_out == 73
    assert r.pkts_in == 0 and pd.isna(r.ts)
    assert rep.files[0].nulled["masked timestamp"] == len(df)


def test_btest_field_name_map_and_scope_sep() -> None:
    base = BTEST / "scripts.base.frameworks.logging"
    a, b = Path(f"{base}.field-name-map/conn.log"), Path(f"{base}.scope_sep/conn.log")
    da, db = read(a), read(b)
    assert da["src_ip"].iloc[0] == "173.192.163.128" and da["dst_port"].iloc[0] == 6705
    assert db["src_ip"].iloc[0] == "173.192.163.128" and db["dst_port"].iloc[0] == 6705


def test_btest_ssl_values_and_unmasked_ts() -> None:
    p = BTEST / "scripts.base.protocols.quic.interop.quic-go_quic-go.handshake" / "ssl.log"
    q = BTEST / "scripts.base.protocols.ssl.tls13-encrypted-client-hello" / "ssl.log"
    df = read(p)
    assert df["ts"].iloc[0] == pd.Timestamp("1970-01-01 00:00:01", tz="UTC")
    assert (df["tls_sni"].iloc[0], df["tls_version"].iloc[0]) == ("server4:443", "TLSv13")
    dq = read(q)
    assert list(dq["tls_sni"]) == ["cloudflare-ech.com"] * 2 and dq["event_type"].eq("ssl").all()


def test_otrf_json_values_and_ssl_join() -> None:
    d = OTRF / "UTICA-C"
    conn = read(d / "UTICA-C_conn.log")
    r = conn.iloc[0]
    assert r.ts == pd.Timestamp("2020-05-01 07:21:25.417361", tz="UTC")
    assert (r.uid, r.src_ip, r.src_port, r.dst_ip, r.dst_port, r.proto) == (
        "Cx8lyL29X1NiBTsze1", "10.0.1.5", 61400, "192.168.0.4", 443, "tcp",
    )  # fmt: skip
    assert (r.bytes_out, r.bytes_in, r.pkts_out, r.ip_bytes_in, r.sensor) == (
        656, 268, 6, 560, "test-nsm",
    )  # fmt: skip
    both = read([d / "UTICA-C_conn.log", d / "UTICA-C_ssl.log"])
    assert len(both) == len(conn)  # all 29 ssl rows found their conn row
    j = both.set_index("uid").loc["Cx8lyL29X1NiBTsze1"]
    assert (j.ja3, j.tls_version, j.event_type) == (
        "c12f54a3f91dc7bafd92cb59fe009a35",
        "TLSv12",
        "conn",
    )


# --- TSV headers, escapes, sections ------------------------------------------------------------


def test_escapes_empty_unset_and_separator(tmp_path: Path) -> None:
    fields = [
        "ts",
        "uid",
        "id.orig_h",
        "id.orig_p",
        "id.resp_h",
        "id.resp_p",
        "server_name",
        "version",
    ]
    types = ["time", "string", "addr", "port", "addr", "port", "string", "string"]
    rows = [
        [1.5, "Ca", "10.0.0.1", 1, "10.0.0.2", 443, "a\tb.example", "TLSv12"],
        [2.5, "Cb", "10.0.0.1", 2, "10.0.0.2", 443, "", None],
        [3.5, "Cc", "10.0.0.1", 3, "10.0.0.2", 443, "-", "(empty)"],
        [4.5, "Cd", "10.0.0.1", 4, "10.0.0.2", 443, "ünï.例え", "x\\x41"],
    ]
    p = tmp_path / "ssl.log"
    p.write_bytes(zeek_tsv(fields, types, rows, path="ssl"))
    df = read(p)
    assert list(df["tls_sni"]) == ["a\tb.example", "", "-", "ünï.例え"]
    assert df["tls_version"].iloc[1] is pd.NA
    assert list(df["tls_version"].iloc[[0, 2, 3]]) == ["TLSv12", "(empty)", "x\\x41"]
    assert df["ts"].iloc[0] == pd.Timestamp(1.5, unit="s", tz="UTC")


def test_custom_separator_and_several_sections(tmp_path: Path) -> None:
    conn = zeek_tsv(CONN_FIELDS, CONN_TYPES, [conn_row(1), conn_row(2)], sep=b"|")
    ssl_fields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "server_name"]
    ssl_types = ["time", "string", "addr", "port", "addr", "port", "string"]
    ssl = zeek_tsv(
        ssl_fields, ssl_types, [[9.0, "Cz", "1.1.1.1", 5, "2.2.2.2", 443, "x|y"]], path="ssl"
    )
    p = tmp_path / "mixed.log"
    p.write_bytes(conn + conn + ssl)
    df, rep = _read(p)
    assert rep.files[0].rows == 5 and rep.files[0].skipped_total == 0
    assert list(df["event_type"]) == ["conn"] * 4 + ["ssl"]
    assert df["tls_sni"].iloc[4] == "x|y" and df["bytes_out"].iloc[1] == 102
    assert df["uid"].iloc[0] == f"C{1:017d}"


def test_field_count_mismatch_skipped_with_line(tmp_path: Path) -> None:
    text = zeek_tsv(CONN_FIELDS, CONN_TYPES, [conn_row(i) for i in range(5)]).split(b"\n")
    text[10] = b"\t".join(text[10].split(b"\t")[:-3])  # third data row loses three fields
    p = tmp_path / "conn.log"
    p.write_bytes(b"\n".join(text))
    df, rep = _read(p)
    assert len(df) == 4
    (reason, n), = rep.files[0].skipped.items()  # fmt: skip
    assert n == 1 and "field count" in reason and rep.files[0].first_bad_line[reason] == 11


def test_chunks_are_bounded_and_lines_counted_across_blocks(tmp_path: Path) -> None:
    rows = [conn_row(i) for i in range(3000)]
    text = zeek_tsv(CONN_FIELDS, CONN_TYPES, rows).split(b"\n")
    text[2508] = b"garbage"  # data line 2501 (8 header lines before)
    p = tmp_path / "conn.log.gz"
    p.write_bytes(gzip.compress(b"\n".join(text)))
    rep = ReadReport()
    opts = {"block_bytes": 20_000}
    chunks = list(iter_read(p, chunksize=700, report=rep, options=opts))
    assert max(len(c) for c in chunks) <= 700 and sum(len(c) for c in chunks) == 2999
    st_ = rep.files[0]
    assert st_.first_bad_line == {"field count mismatch (expected 21)": 2509}
    df = pd.concat(chunks, ignore_index=True)
    assert df["uid"].iloc[2500] == f"C{2501:017d}" and df["bytes_out"].iloc[-1] == 100 + 2999
    pd.testing.assert_frame_equal(conform_events(df), df)


def test_json_shapes(tmp_path: Path) -> None:
    recs = [
        {"_path": "conn", "ts": 1700000000.5, "uid": "C1", "id.orig_h": "10.0.0.1", "id.orig_p": 1,
         "id.resp_h": "10.0.0.2", "id.resp_p": 22, "proto": "tcp", "conn_state": "SF"},
        {"@stream": "ssh", "ts": "2023-11-14T22:13:20.250000Z", "uid": "C1", "id_orig_h": "10.0.0.1",
         "id_orig_p": 1, "id_resp_h": "10.0.0.2", "id_resp_p": 22, "hassh": "h1", "client": "SSH-2.0-Go"},
        {"ts": 1700000001, "uid": "C2", "id": {"orig_h": "10.0.0.3", "orig_p": 7, "resp_h": "10.0.0.4",
         "resp_p": 80}, "method": "GET", "user_agent": "curl/8"},
        {"ts": 1700000002000, "uid": "C3", "id.orig_h": "::1", "id.orig_p": 9, "id.resp_h": "::2",
         "id.resp_p": 53, "query": "example.com", "answers": ["1.2.3.4"]},
    ]  # fmt: skip
    p = tmp_path / "mixed.json"
    p.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    df = attrib.read(p)
    assert len(df) == 3  # the ssh row merged onto its conn row
    c = df.set_index("uid")
    assert (c.loc["C1", "hassh"], c.loc["C1", "ssh_client"]) == ("h1", "SSH-2.0-Go")
    assert c.loc["C2", "user_agent"] == "curl/8" and c.loc["C2", "event_type"] == "http"
    assert c.loc["C2", "src_ip"] == "10.0.0.3" and c.loc["C2", "dst_port"] == 80
    assert c.loc["C3", "event_type"] == "dns"
    assert c.loc["C3", "ts"] == pd.Timestamp(1700000002, unit="s", tz="UTC")  # epoch ms


def test_join_by_uid_keeps_unmatched_and_first_values() -> None:
    ev = pd.DataFrame({
        "uid": ["A", "B", "A", "A", "Z"],
        "event_type": ["conn", "conn", "ssl", "http", "ssl"],
        "source": ["zeek"] * 5,
        "tls_sni": [None, None, "a.example", None, "z.example"],
        "user_agent": [None, None, None, "UA/1", None],
    })  # fmt: skip
    out = join_by_uid(conform_events(ev))
    assert list(out["uid"]) == ["A", "B", "Z"]
    assert out["tls_sni"].iloc[0] == "a.example" and out["user_agent"].iloc[0] == "UA/1"
    assert out["tls_sni"].iloc[2] == "z.example" and out["event_type"].iloc[2] == "ssl"


def test_sniff() -> None:
    assert sniff(b"#separator \\x09\n#set_separator\t,\n") == "zeek"
    assert sniff(b'{"ts":1.0,"uid":"C1","id.orig_h":"1.2.3.4"}\n') == "zeek"
    assert sniff(b'{"timestamp":"x","event_type":"flow","src_ip":"1.2.3.4"}\n') is None
    assert sniff(b"ts,te,td,sa,da\n") is None


# --- property-based: Zeek escaping round-trips ---------------------------------------------------

_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(_text, min_size=1, max_size=4),
    tags=st.lists(st.lists(_text.filter(bool), max_size=3), min_size=1, max_size=4),
    sep=st.sampled_from([b"\t", b"|", b";"]),
)
def test_tsv_round_trip(names: list[str], tags: list[list[str]], sep: bytes) -> None:
    n = min(len(names), len(tags))
    fields = [
        "ts",
        "uid",
        "id.orig_h",
        "id.orig_p",
        "id.resp_h",
        "id.resp_p",
        "server_name",
        "tags",
    ]
    types = ["time", "string", "addr", "port", "addr", "port", "string", "set[string]"]
    rows = [[1.0 + i, f"C{i}", "10.0.0.1", i, "10.0.0.2", 443, names[i], tags[i]] for i in range(n)]
    blob = zeek_tsv(fields, types, rows, path="ssl", sep=sep)
    ((_, recs),) = read_tsv_records(blob)
    assert [r["server_name"] for r in recs] == names[:n]
    assert [r["tags"] for r in recs] == tags[:n]
    # the streaming reader agrees on the canonical string column
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "ssl.log"
        p.write_bytes(blob)
        df = read(p)
    assert list(df["tls_sni"]) == names[:n]


# --- the block splitter: reused buffer, carried partial lines, long lines -------------------------

_MAX_LINE = 32
_line = st.one_of(
    st.binary(max_size=_MAX_LINE).map(lambda b: b.replace(b"\n", b" ")),
    st.binary(max_size=_MAX_LINE - 1).map(lambda b: b"#" + b.replace(b"\n", b" ")),
    st.just(b"L" * 100),  # longer than max_line + block: always dropped
)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(_line, max_size=40),
    block=st.integers(1, 64),
    final_newline=st.booleans(),
    readinto=st.booleans(),
    buffers=st.sampled_from([1, 3, 5]),
)
def test_split_stream_matches_line_split(
    lines: list[bytes], block: int, final_newline: bool, readinto: bool, buffers: int
) -> None:
    import io
    from collections import deque

    from attrib.io._zeek_tsv import split_stream

    blob = b"\n".join(lines) + (b"\n" if final_newline else b"")

    class ReadOnly:  # a stream without readinto
        def __init__(self, data: bytes) -> None:
            self.f = io.BytesIO(data)

        def read(self, n: int) -> bytes:
            return self.f.read(n)

    raw: Any = io.BytesIO(blob) if readinto else ReadOnly(blob)
    dropped: list[int] = []
    got: list[tuple[int, bytes]] = []

    def take(piece: Any) -> None:
        if piece.header is not None:
            got.append((piece.line, piece.header))
            return
        data = bytes(piece.data)
        parts = data.split(b"\n")
        if data.endswith(b"\n"):
            parts.pop()
        got.extend((piece.line + k, text) for k, text in enumerate(parts))

    # a consumer lagging ``buffers - 1`` pieces behind (the most the ring allows; a prefetch
    # queue of depth d lags d + 1): the views it reads must still be intact
    lag: deque[Any] = deque()
    pieces = split_stream(raw, dropped.append, block_bytes=block, max_line=_MAX_LINE,
                          buffers=buffers)  # fmt: skip
    for piece in pieces:
        lag.append(piece)
        if len(lag) > buffers - 1:
            take(lag.popleft())
    while lag:
        take(lag.popleft())
    every = blob.split(b"\n")
    if blob.endswith(b"\n") or not blob:
        every.pop()
    want = [
        (i + 1, ln.rstrip(b"\r") if ln.startswith(b"#") else ln)
        for i, ln in enumerate(every)
        if len(ln) <= _MAX_LINE
    ]
    assert got == want
    assert dropped == [i + 1 for i, ln in enumerate(every) if len(ln) > _MAX_LINE]


_JOIN_CONN = (
    "#separator \\x09\n#path\tconn\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tconn_state\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\n"
    "1772418678.2\tCa1\t81.2.69.142\t35322\t185.232.2.11\t443\ttcp\tSF\n"
    "1772418679.2\tCa2\t81.2.69.143\t35323\t185.232.2.11\t443\ttcp\tS0\n"
)
_JOIN_SSL = (
    "#separator \\x09\n#path\tssl\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tserver_name\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tstring\n"
    "1772418678.3\tCa1\t81.2.69.142\t35322\t185.232.2.11\t443\tvpn.example\n"
    "1772418690.0\tCzz\t81.2.69.150\t40000\t185.232.2.11\t443\tmail.example\n"
)


@pytest.mark.parametrize("chunksize", [1, 1000])
def test_iter_read_join_is_join_complete_like_read(tmp_path, chunksize):
    import pandas as pd

    from attrib.io import iter_read, read
    from attrib.io.zeek import is_app_log

    (tmp_path / "a_conn.log").write_text(_JOIN_CONN)
    (tmp_path / "b_ssl.log").write_text(_JOIN_SSL)
    assert is_app_log(tmp_path / "b_ssl.log") and not is_app_log(tmp_path / "a_conn.log")
    chunks = list(iter_read(tmp_path, chunksize=chunksize, join=True))
    got = pd.concat(chunks, ignore_index=True).sort_values("uid").reset_index(drop=True)
    want = read(tmp_path).sort_values("uid").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_like=True)
    assert got["uid"].tolist() == ["Ca1", "Ca2", "Czz"]  # Czz: ssl row without its conn row
    assert got.loc[got["uid"] == "Ca1", "tls_sni"].item() == "vpn.example"
    plain = pd.concat(iter_read(tmp_path, chunksize=chunksize), ignore_index=True)
    assert len(plain) == 4  # without join the ssl row of Ca1 stays a row of its own
    late = list(iter_read(tmp_path, join=True, where=lambda c: c[c["uid"] != "Ca1"]))
    assert pd.concat(late)["uid"].tolist() == ["Ca2", "Czz"]
