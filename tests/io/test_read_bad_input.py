"""Bad input for the Zeek and flow readers: each case is refused clearly or skipped and counted.

Truncated files, binary garbage, a wrong ``--format``, mixed encodings, huge lines, missing
headers, and Zeek files whose ``#fields`` and rows disagree; through the API and the CLI.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from _zeek_data import CONN_FIELDS, CONN_TYPES, DATA, REPO, conn_row, zeek_tsv

from attrib.cli import main
from attrib.errors import (
    FormatError,
    TooManyBadRowsError,
    UnknownFormatError,
    UnreadableFileError,
)
from attrib.io import ReadReport, read

ARGUS = DATA / "flow" / "argus.csv"
ARGUS_MAP = REPO / "data" / "mappings" / "argus-csv.toml"
NFDUMP = DATA / "flow" / "nfdump-summary.csv"


def _conn(n: int = 5) -> bytes:
    return zeek_tsv(CONN_FIELDS, CONN_TYPES, [conn_row(i) for i in range(n)])


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["read", *args])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _one_line_error(rc: int, err: str, *needles: str) -> None:
    assert rc != 0 and err.count("\n") == 1 and err.startswith("attrib: error:"), err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, err


# --- truncated ------------------------------------------------------------------------------------


def test_truncated_zeek_tsv_keeps_whole_rows(tmp_path: Path) -> None:
    blob = _conn(5)
    cut = blob.rfind(b"#close") - 40  # inside the last data row
    p = tmp_path / "conn.log"
    p.write_bytes(blob[:cut])
    rep = ReadReport()
    df = read(p, report=rep)
    assert len(df) == 4 and rep.files[0].first_bad_line == {
        "field count mismatch (expected 21)": 13
    }


def test_truncated_gzip_is_one_unreadable_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = zeek_tsv(CONN_FIELDS, CONN_TYPES, [conn_row(i) for i in range(4000)])
    z = gzip.compress(big)
    p = tmp_path / "conn.log.gz"
    p.write_bytes(z[: len(z) // 2])
    with pytest.raises(UnreadableFileError, match="truncated"):
        read(p)
    rc, _, err = _cli(capsys, str(p))
    _one_line_error(rc, err, "conn.log.gz")


def test_truncated_json_and_nfdump(tmp_path: Path) -> None:
    lines = [json.dumps({"ts": 1.0 + i, "uid": f"C{i}", "id.orig_h": "10.0.0.1", "id.orig_p": 1,
                         "id.resp_h": "10.0.0.2", "id.resp_p": 2, "_path": "conn"}) for i in range(3)]  # fmt: skip
    j = tmp_path / "conn.json"
    j.write_text("\n".join(lines)[:-12])
    rep = ReadReport()
    assert len(read(j, report=rep)) == 2 and rep.files[0].skipped == {"invalid JSON": 1}
    n = tmp_path / "nf.csv"
    text = NFDUMP.read_text().split("Summary")[0]
    n.write_text(text[: text.rfind(",0,0,0,0,0")])
    rep = ReadReport()
    assert len(read(n, report=rep)) == 2 and rep.files[0].first_bad_line == {
        "field count mismatch (expected 48)": 4
    }


# --- binary garbage ----------------------------------------------------------------------------


def test_binary_garbage_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "garbage.log"
    p.write_bytes(os.urandom(5000).replace(b"#", b"!"))
    with pytest.raises(UnknownFormatError, match="unrecognised"):
        read(p)
    for fmt in ("zeek", "nfdump", "flow"):
        with pytest.raises(UnknownFormatError, match=f"not {fmt}"):
            read(p, fmt)
    rc, _, err = _cli(capsys, str(p))
    _one_line_error(rc, err, "garbage.log", "unrecognised")


def test_garbage_rows_inside_zeek_log_hit_the_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # random bytes, but never a line break or a leading '#' (a comment line is not a row)
    rows = (b"x" + os.urandom(60).replace(b"\n", b" ").replace(b"\r", b" ") for _ in range(50))
    blob = _conn(3) + b"\n".join(rows) + b"\n"
    p = tmp_path / "conn.log"
    p.write_bytes(blob)
    rep = ReadReport()
    assert len(read(p, report=rep)) == 3 and rep.files[0].skipped_total == 50
    with pytest.raises(TooManyBadRowsError, match="conn.log:13"):
        read(p, max_bad_rows=10)
    rc, _, err = _cli(capsys, str(p), "--max-bad-rows", "10")
    _one_line_error(rc, err, "more than 10 bad rows")


# --- wrong --format ------------------------------------------------------------------------------


def test_wrong_forced_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    z = tmp_path / "conn.log"
    z.write_bytes(_conn(2))
    with pytest.raises(UnknownFormatError, match="not nfdump"):
        read(z, "nfdump")
    with pytest.raises(UnknownFormatError, match="not zeek"):
        read(NFDUMP, "zeek")
    with pytest.raises(UnknownFormatError, match="unknown format"):
        read(z, "netflow9")
    rc, _, err = _cli(capsys, str(NFDUMP), "--format", "zeek")
    _one_line_error(rc, err, "nfdump-summary.csv", "not zeek")
    # a flow mapping that names columns the file does not have
    with pytest.raises(FormatError, match="SrcAddr"):
        read(NFDUMP, "flow", options={"flow_mapping": str(ARGUS_MAP)})


# --- mixed encodings ---------------------------------------------------------------------------


def test_latin1_bytes_in_utf8_logs_are_kept_replaced_and_counted(tmp_path: Path) -> None:
    fields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "user_agent"]
    types = ["time", "string", "addr", "port", "addr", "port", "string"]
    rows = [[1.0, "C1", "10.0.0.1", 1, "10.0.0.2", 80, "Mozilla/5.0 (ünicode ok)"],
            [2.0, "C2", "10.0.0.1", 2, "10.0.0.2", 80, "Caf@"]]  # fmt: skip
    blob = zeek_tsv(fields, types, rows, path="http").replace(b"Caf@", b"Caf\xe9 \xff")
    p = tmp_path / "http.log"
    p.write_bytes(blob)
    rep = ReadReport()
    df = read(p, report=rep)
    assert list(df["user_agent"]) == ["Mozilla/5.0 (ünicode ok)", "Caf\ufffd \ufffd"]
    assert rep.files[0].nulled == {"invalid utf-8 replaced": 1} and not rep.files[0].skipped
    j = tmp_path / "http.json"
    j.write_bytes(
        b'{"_path":"http","ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1","user_agent":"Caf\xe9"}\n'
    )
    rep = ReadReport()
    assert read(j, report=rep)["user_agent"].iloc[0] == "Caf\ufffd"
    assert rep.files[0].nulled == {"invalid utf-8 replaced": 1}
    f = tmp_path / "argus.csv"
    f.write_bytes(ARGUS.read_bytes().replace(b"192.0.2.1\n", b"r\xf6uter\n", 1))
    rep = ReadReport()
    df = read(f, "flow", report=rep, options={"flow_mapping": str(ARGUS_MAP)})
    assert df["sensor"].iloc[0] == "r\ufffduter" and rep.files[0].nulled == {
        "invalid utf-8 replaced": 1
    }


# --- huge lines ----------------------------------------------------------------------------------


def test_huge_lines(tmp_path: Path) -> None:
    fields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "server_name"]
    types = ["time", "string", "addr", "port", "addr", "port", "string"]
    long_name = "a" * 3_000_000
    rows = [[1.0, "C1", "10.0.0.1", 1, "10.0.0.2", 443, "x.example"],
            [2.0, "C2", "10.0.0.1", 2, "10.0.0.2", 443, long_name],
            [3.0, "C3", "10.0.0.1", 3, "10.0.0.2", 443, "z.example"]]  # fmt: skip
    p = tmp_path / "ssl.log"
    p.write_bytes(zeek_tsv(fields, types, rows, path="ssl"))
    df = read(p, options={"block_bytes": 1 << 20})  # a valid line longer than the read block
    assert list(df["uid"]) == ["C1", "C2", "C3"] and df["tls_sni"].iloc[1] == long_name
    rep = ReadReport()
    df = read(p, report=rep, options={"max_line_bytes": 1 << 20, "block_bytes": 1 << 18})
    assert list(df["uid"]) == ["C1", "C3"] and rep.files[0].first_bad_line == {"line too long": 10}
    j = tmp_path / "big.json"
    j.write_text('{"_path":"conn","ts":1,"uid":"C1"}\n{"ts":2,"uid":"' + "b" * 2_000_000 + '"}\n'
                 '{"_path":"conn","ts":3,"uid":"C3"}\n')  # fmt: skip
    rep = ReadReport()
    df = read(j, report=rep, options={"max_line_bytes": 1 << 20})
    assert list(df["uid"]) == ["C1", "C3"] and rep.files[0].first_bad_line == {"line too long": 2}


# --- missing headers --------------------------------------------------------------------------------


def test_missing_headers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blob = _conn(3)
    body = b"\n".join(ln for ln in blob.split(b"\n") if not ln.startswith(b"#"))
    headerless = tmp_path / "headerless.log"
    headerless.write_bytes(body)
    with pytest.raises(UnknownFormatError):
        read(headerless)
    with pytest.raises(UnknownFormatError, match="not zeek"):
        read(headerless, "zeek")
    no_fields = tmp_path / "nofields.log"
    no_fields.write_bytes(
        b"\n".join(ln for ln in blob.split(b"\n") if not ln.startswith(b"#fields"))
    )
    with pytest.raises(FormatError, match=r"nofields.log:8: data line before any #fields"):
        read(no_fields)
    rc, _, err = _cli(capsys, str(no_fields))
    _one_line_error(rc, err, "#fields")
    nf = tmp_path / "nf.csv"
    nf.write_text("\n".join(NFDUMP.read_text().splitlines()[1:]))
    with pytest.raises(UnknownFormatError, match="not nfdump"):
        read(nf, "nfdump")


# --- #fields and rows disagree ------------------------------------------------------------------------


def test_fields_and_rows_disagree(tmp_path: Path) -> None:
    lines = _conn(6).split(b"\n")
    lines[9] += b"\textra\tfields"  # data line 2 (file line 10) has two fields too many
    lines[12] = lines[12].rsplit(b"\t", 5)[0]  # file line 13 lacks five
    p = tmp_path / "conn.log"
    p.write_bytes(b"\n".join(lines))
    rep = ReadReport()
    df = read(p, report=rep)
    assert len(df) == 4 and list(df["uid"]) == [f"C{i:017d}" for i in (0, 2, 3, 5)]
    assert rep.files[0].skipped == {"field count mismatch (expected 21)": 2}
    assert rep.files[0].first_bad_line == {"field count mismatch (expected 21)": 10}
    types_short = b"\n".join(
        ln if not ln.startswith(b"#types") else ln.rsplit(b"\t", 3)[0]
        for ln in _conn(2).split(b"\n")
    )
    q = tmp_path / "conn2.log"
    q.write_bytes(types_short)  # #types shorter than #fields: values still read (as text, coerced)
    df = read(q)
    assert list(df["bytes_out"]) == [100, 101] and str(df["src_port"].dtype) == "UInt16"
