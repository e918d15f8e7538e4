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


# --- hostile inputs (issue 18): each costs a counted row or one clear error, never the run ------

_EVE = DATA / "suricata" / "eve.json"
_PURVIEW = DATA / "signin" / "m365_purview.csv"
_GOFLOW_MAP = REPO / "data" / "mappings" / "goflow2-json.toml"


def _attrib_subprocess(args: list[str], cwd: Path, mem_bytes: int = 1 << 30) -> tuple[int, str]:
    """Run the CLI in a child process with an address-space cap (a crash cannot kill pytest)."""
    import resource
    import subprocess
    import sys

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "attrib", *args], cwd=cwd, env=env, capture_output=True,
        text=True, preexec_fn=cap, timeout=300, check=False,
    )  # fmt: skip
    return proc.returncode, proc.stderr


@pytest.mark.parametrize(
    "body",
    [
        b"[]\n" + b"1" * 4500,  # the 4,505-byte repro: a sniffer sees the huge integer
        b'{"a":' + b"1" * 4500 + b"}\n",
        b'[{"published":"2023-01-01T00:00:00Z","eventType":"x","n":' + b"1" * 4500 + b"}]",
    ],
)
def test_huge_json_integer_never_crashes_the_process(tmp_path: Path, body: bytes) -> None:
    (tmp_path / "x.json").write_bytes(body)
    rc, err = _attrib_subprocess(["read", "x.json", "-o", "y.parquet"], tmp_path)
    assert rc in (0, 2), (rc, err)  # was -11 (SIGSEGV in ijson's C backend)
    assert "Traceback" not in err and "internal error" not in err


@pytest.mark.parametrize(
    "body",
    [
        b'{"event_type":"flow","timestamp":"x","a":' + b"[" * 100_000 + b"\n",
        b'{"event_type":"flow","timestamp":"x","a":' + b'{"a":' * 13_000 + b"\n",
        b'[{"published":"2023-01-01T00:00:00Z","eventType":"x","a":' + b"[" * 200_000,
    ],
)
def test_deep_unterminated_json_head_is_bounded(tmp_path: Path, body: bytes) -> None:
    (tmp_path / "x.json").write_bytes(body)
    # 1 GiB of address space: the O(depth^2) sniffer asked for 6-10 GB here
    rc, err = _attrib_subprocess(["read", "x.json", "-o", "y.parquet"], tmp_path, 1 << 30)
    assert rc in (0, 2), (rc, err)
    assert "Traceback" not in err and "internal error" not in err and "MemoryError" not in err


def test_deep_json_record_in_array_is_one_counted_row(tmp_path: Path) -> None:
    ok = {"published": "2023-01-01T00:00:00Z", "eventType": "user.session.start", "uuid": "u",
          "client": {"ipAddress": "192.0.2.1"}}  # fmt: skip
    deep = b"[" * 5000 + b"]" * 5000
    p = tmp_path / "okta.json"
    p.write_bytes(b"[" + json.dumps(ok).encode() + b',{"published":"x","eventType":"y","d":'
                  + deep + b"}]")  # fmt: skip
    rep = ReadReport()
    df = read(p, report=rep)
    assert len(df) == 1 and rep.files[0].skipped == {"JSON nested too deeply": 1}


def test_deep_json_lines_are_counted_rows_in_zeek_and_flow(tmp_path: Path) -> None:
    deep = b"[" * 3000 + b"]" * 3000
    zeek_ok = (b'{"ts":1700000000.5,"uid":"C1","id.orig_h":"192.0.2.1","id.orig_p":1,'
               b'"id.resp_h":"198.51.100.1","id.resp_p":443,"proto":"tcp"}')  # fmt: skip
    p = tmp_path / "conn.log"
    p.write_bytes(zeek_ok + b"\n" + zeek_ok[:-1] + b',"x":' + deep + b"}\n")
    rep = ReadReport()
    assert len(read(p, report=rep)) == 1 and rep.files[0].skipped_total == 1
    nested = zeek_ok[:-1] + b',"x":' + b'{"a":' * 990 + b"1" + b"}" * 990 + b"}"
    p.write_bytes(zeek_ok + b"\n" + nested + b"\n")  # parses, but too deep to flatten
    rep = ReadReport()
    assert len(read(p, report=rep)) == 1 and rep.files[0].skipped == {"JSON nested too deeply": 1}
    flow = (DATA / "flow" / "goflow2.json").read_bytes().split(b"\n")[0]
    q = tmp_path / "flows.json"
    q.write_bytes(flow + b"\n" + flow[:-1] + b',"x":' + deep + b"}\n")
    rep = ReadReport()
    df = read(q, "flow", report=rep, options={"flow_mapping": str(_GOFLOW_MAP)})
    assert len(df) == 1 and rep.files[0].skipped_total == 1


def test_lone_surrogate_in_zeek_json_is_one_counted_row(tmp_path: Path) -> None:
    line = (
        b'{"ts":1700000000.5,"uid":"C%d","id.orig_h":"192.0.2.1","id.orig_p":1,'
        b'"id.resp_h":"198.51.100.1","id.resp_p":443,"proto":"tcp","history":"%s"}'
    )
    p = tmp_path / "conn.log"
    p.write_bytes(line % (1, b"\\ud800") + b"\n" + line % (2, b"ShAD") + b"\n")
    rep = ReadReport()
    df = read(p, report=rep)
    assert list(df["uid"]) == ["C2"] and rep.files[0].skipped_total == 1


def test_masked_timestamps_with_a_huge_line_read(tmp_path: Path) -> None:
    lines = _conn(5).split(b"\n")
    for i, ln in enumerate(lines):
        if ln and not ln.startswith(b"#"):
            cells = ln.split(b"\t")
            cells[0] = b"XXXXXXXXXX.XXXXXX"  # btest's masked time
            lines[i] = b"\t".join(cells)
    first = next(i for i, ln in enumerate(lines) if ln and not ln.startswith(b"#"))
    cells = lines[first].split(b"\t")
    cells[15] = b"A" * (11 << 20)  # one line longer than Arrow's block
    lines[first] = b"\t".join(cells)
    p = tmp_path / "conn.log"
    p.write_bytes(b"\n".join(lines))
    rep = ReadReport()
    df = read(p, report=rep)
    assert len(df) == 5 and rep.files[0].nulled["masked timestamp"] == 5


def test_truncated_zeek_header_without_rows_is_a_format_error(tmp_path: Path) -> None:
    p = tmp_path / "conn.log"
    p.write_bytes(b"#separator \\x09\n#path\tconn\n#fields\tts\tuid\n#types\ttime\n")
    with pytest.raises(FormatError, match=r"conn.log:4: #types names 1 types but #fields"):
        read(p)


def _eve_with_year(year: str) -> bytes:
    lines = _EVE.read_bytes().splitlines()
    flow = next(ln for ln in lines if b'"event_type":"flow"' in ln)
    tls = next(ln for ln in lines if b'"event_type":"tls"' in ln)
    bad = tls.replace(b'"timestamp":"2023', b'"timestamp":"' + year.encode(), 1)
    return b"\n".join([bad, flow.replace(b'"start":"2023', b'"start":"' + year.encode()), tls])


@pytest.mark.parametrize("kind", ["eve", "okta", "m365", "nfdump", "zeek-iso"])
def test_timestamp_beyond_2262_costs_its_value_not_the_file(tmp_path: Path, kind: str) -> None:
    p = tmp_path / "in.log"
    if kind == "eve":
        p.write_bytes(_eve_with_year("2423"))
    elif kind == "okta":
        rec = {"published": "2423-01-01T00:00:00.000Z", "eventType": "user.session.start",
               "uuid": "u1", "client": {"ipAddress": "192.0.2.1"}}  # fmt: skip
        p.write_text(json.dumps([rec, {**rec, "published": "2023-01-01T00:00:00Z"}]))
    elif kind == "m365":
        rec = {"CreationTime": "2424-03-07T10:01:02", "Id": "x", "Operation": "UserLoggedIn",
               "OrganizationId": "o", "RecordType": 15, "UserType": 0, "Version": 1,
               "Workload": "AzureActiveDirectory", "ClientIP": "192.0.2.1", "UserId": "a@b.c"}  # fmt: skip
        p.write_text(json.dumps(rec) + "\n" + json.dumps({**rec, "CreationTime": "2024"}) + "\n")
    elif kind == "nfdump":
        head, first, *rest = NFDUMP.read_bytes().split(b"\n")
        p.write_bytes(b"\n".join([head, b"24" + first[2:], *rest]))
    else:
        row = (
            b'{"ts":"%s-01-01T00:00:00.000000Z","uid":"C1","id.orig_h":"192.0.2.1",'
            b'"id.orig_p":1,"id.resp_h":"198.51.100.1","id.resp_p":443,"proto":"tcp"}'
        )
        p.write_bytes(row % b"2423" + b"\n" + row % b"2023" + b"\n")
    rep = ReadReport()
    df = read(p, report=rep)
    assert sum(rep.files[0].nulled.values()) >= 1  # the lost value is reported
    if kind == "eve":  # the tls records join their flow: one row, its start from "timestamp"
        assert len(df) == 1 and df["ts"].notna().all()
    else:
        assert len(df) >= 2 and df["ts"].isna().sum() == 1


def test_unbalanced_quote_at_end_of_purview_csv_is_one_row(tmp_path: Path) -> None:
    p = tmp_path / "audit.csv"
    p.write_bytes(_PURVIEW.read_bytes().rstrip(b"\n") + b'\nx,"2024,a,b\n')
    rep = ReadReport()
    df = read(p, report=rep)
    assert len(df) == 3 and rep.files[0].skipped == {"field count mismatch": 1}


def test_unbalanced_quote_costs_one_line_not_the_rest(tmp_path: Path) -> None:
    head, *rows = _PURVIEW.read_bytes().rstrip(b"\n").split(b"\n")
    p = tmp_path / "audit.csv"
    p.write_bytes(b"\n".join([head, b'x,"2024,a,b', *rows]) + b"\n")
    rep = ReadReport()
    assert len(read(p, report=rep)) == 3 and rep.files[0].first_bad_line == {
        "field count mismatch": 2
    }
    head, row = NFDUMP.read_bytes().split(b"\n")[:2]
    q = tmp_path / "nf.csv"
    q.write_bytes(b"\n".join([head, b'"', *[row] * 10]) + b"\n")
    rep = ReadReport()
    assert len(read(q, report=rep)) == 10 and rep.files[0].skipped_total == 1


def test_carriage_return_inside_a_non_utf8_zeek_line_is_one_bad_row(tmp_path: Path) -> None:
    # found by scripts/fuzz.py (zeek-tsv): Arrow splits lines at a bare CR, so the line passed
    # the field count and then failed Arrow's parse of the whole block (ArrowInvalid, exit 70)
    lines = _conn(4).split(b"\n")
    first = next(i for i, ln in enumerate(lines) if ln and not ln.startswith(b"#"))
    lines[first + 1] = lines[first + 1].replace(b"\t", b"\t\xff\rx", 1)
    p = tmp_path / "conn.log"
    p.write_bytes(b"\n".join(lines))
    rep = ReadReport()
    df = read(p, report=rep)
    assert len(df) == 3 and rep.files[0].skipped_total == 1


def test_flow_block_of_only_stray_quotes_reads_empty(tmp_path: Path) -> None:
    # found by scripts/fuzz.py (nfdump, flow-csv): every line blanked left Arrow an empty CSV
    head = NFDUMP.read_bytes().split(b"\n")[0]
    p = tmp_path / "nf.csv"
    p.write_bytes(head + b'\n"\n"x\n')
    rep = ReadReport()
    assert len(read(p, report=rep)) == 0 and rep.files[0].skipped == {"unbalanced quote": 2}


def test_multibyte_zeek_separator_is_a_format_error(tmp_path: Path) -> None:
    # found by scripts/fuzz.py (zeek-tsv): a mutated #separator reached Arrow (ValueError)
    p = tmp_path / "conn.log"
    p.write_bytes(_conn(2).replace(b"#separator \\x09", b"#separator \\x09\\x09", 1))
    with pytest.raises(FormatError, match=r"conn.log:1: #separator .* is not one byte"):
        read(p)


def test_deep_json_first_line_is_not_a_crash_of_the_zeek_sniffers(tmp_path: Path) -> None:
    """A fuzz find: the Zeek JSON sniffer and ``is_app_log`` parsed the first line with
    ``json.loads``, whose recursion escaped as ``RecursionError`` from *every* file's sniff."""
    from attrib.io.detect import sniff_bytes
    from attrib.io.zeek import is_app_log

    body = b'{"time":' + b"[" * 5000 + b"\n"
    assert sniff_bytes(body) is None
    p = tmp_path / "x.log"
    p.write_bytes(body)
    assert not is_app_log(p)
    with pytest.raises(UnknownFormatError, match="unrecognised content"):
        read(p)


def test_flatten_depth_is_bounded_not_the_stack() -> None:
    """Deep nesting is refused by an explicit bound, whatever the recursion limit is."""
    import sys

    from attrib.io._zeek_json import MAX_FLATTEN_DEPTH, flatten
    from attrib.io.zeek import sniff

    rec: dict[str, object] = {"v": 1}
    for _ in range(MAX_FLATTEN_DEPTH + 1):
        rec = {"a": rec}
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)  # another library raised it: the bound must still hold
    try:
        with pytest.raises(RecursionError):
            flatten(rec)
    finally:
        sys.setrecursionlimit(old)
    assert sniff(b'{"a":' * 100 + b"1" + b"}" * 100 + b"\n") is None
    assert flatten({"id": {"orig_h": "192.0.2.1"}}) == {"id.orig_h": "192.0.2.1"}
