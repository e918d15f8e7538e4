"""Bad input for the identity-log readers: every failure is counted, named or refused cleanly."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import attrib
from attrib.errors import FormatError, InputError, TooManyBadRowsError, UnknownFormatError
from attrib.io import ReadReport
from attrib.io.signin import sniff

DATA = Path(__file__).resolve().parents[1] / "data" / "signin"

OKTA = {
    "uuid": "e1",
    "published": "2024-01-02T03:04:05.678Z",
    "eventType": "user.session.start",
    "actor": {"alternateId": "a@example.org"},
    "client": {"ipAddress": "192.0.2.1", "userAgent": {"rawUserAgent": "UA"}},
    "outcome": {"result": "SUCCESS"},
}


def lines(path: Path, items: list[Any]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in items))
    return path


def read(path: Path, **kw: Any) -> tuple[pd.DataFrame, ReadReport]:
    rep = ReadReport()
    return attrib.read(path, report=rep, **kw), rep


def test_truncated_json_lines_counted_with_line_number(tmp_path):
    good = json.dumps(OKTA)
    path = tmp_path / "okta.json"
    path.write_text(f"{good}\n{good[:50]}\n{good}\n{good[:-9]}")  # cut mid-record at EOF too
    df, rep = read(path)
    st = rep.files[0]
    assert len(df) == 2 and st.skipped == {"invalid JSON": 2}
    assert st.first_bad_line == {"invalid JSON": 2}


def test_truncated_json_array_keeps_records_before_the_cut(tmp_path):
    body = json.dumps([OKTA, {**OKTA, "uuid": "e2"}, {**OKTA, "uuid": "e3"}])
    path = tmp_path / "okta.json"
    path.write_text(body[: len(body) - 40])
    df, rep = read(path)
    assert list(df["uid"]) == ["e1", "e2"]
    assert rep.files[0].skipped == {"truncated or invalid JSON document": 1}
    assert rep.files[0].first_bad_line == {"truncated or invalid JSON document": 3}


def test_binary_garbage_unknown_format_one_line(tmp_path, capsys):
    from attrib.cli import main

    path = tmp_path / "signins.json"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    assert sniff(path.read_bytes()) is None
    with pytest.raises(UnknownFormatError, match="signins.json"):
        attrib.read(path)
    assert main(["read", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "signins.json" in err and "Traceback" not in err


@pytest.mark.parametrize(("fmt", "other"), [("entra", "okta"), ("m365", "okta"), ("okta", "entra")])
def test_wrong_format_forced(tmp_path, fmt, other):
    if other == "okta":
        path = lines(tmp_path / "f.json", [OKTA])
    else:
        path = DATA / "graph_signins.json"
    with pytest.raises(UnknownFormatError, match=f"not {fmt}"):
        attrib.read(path, format=fmt)


def test_csv_forced_as_okta_is_refused():
    with pytest.raises(UnknownFormatError, match="not okta"):
        attrib.read(DATA / "sentinel_signinlogs.csv", format="okta")


def test_mixed_encodings_and_utf16(tmp_path):
    latin = json.dumps({**OKTA, "actor": {"alternateId": "rené@example.org"}}, ensure_ascii=False)
    path = tmp_path / "okta.json"
    path.write_bytes(json.dumps(OKTA).encode() + b"\n" + latin.encode("latin-1") + b"\n")
    df, rep = read(path)
    assert list(df["user"]) == ["a@example.org", "rené@example.org"]
    assert rep.files[0].nulled["non-UTF-8 line decoded as Latin-1"] == 1
    # PowerShell's Out-File writes UTF-16 with a BOM
    u16 = tmp_path / "okta16.json"
    u16.write_bytes(json.dumps([OKTA, OKTA], indent=2).encode("utf-16"))
    df16, _ = read(u16)
    assert len(df16) == 2 and df16["src_ip"].tolist() == ["192.0.2.1"] * 2


def test_huge_line_skipped_and_counted(tmp_path):
    big = {**OKTA, "debugContext": {"debugData": {"blob": "x" * 300_000}}}
    path = lines(tmp_path / "okta.json", [OKTA, big, OKTA])
    df, rep = read(path, options={"max_line_bytes": 100_000})
    assert len(df) == 2 and rep.files[0].skipped == {"line too long": 1}
    assert rep.files[0].first_bad_line == {"line too long": 2}
    df_all, _ = read(path)  # under the default cap the same line reads
    assert len(df_all) == 3


def test_json_of_wrong_shape(tmp_path):
    path = lines(tmp_path / "okta.json", [OKTA, {"foo": 1}, [1, 2], "42", OKTA])
    df, rep = read(path)
    assert len(df) == 2
    assert rep.files[0].skipped == {"not an okta record": 1, "not a JSON object": 2}
    only_wrong = lines(tmp_path / "w.json", [{"foo": 1}, {"bar": 2}])
    assert sniff(only_wrong.read_bytes()) is None
    with pytest.raises(InputError):  # no identity reader claims it (another may explain why)
        attrib.read(only_wrong)


def test_missing_timestamp_or_ip_kept_null_and_counted(tmp_path):
    no_ip = {**OKTA, "client": {}}
    bad_ip = {**OKTA, "client": {"ipAddress": "not-an-ip"}}
    bad_ts = {**OKTA, "published": "yesterday"}
    path = lines(tmp_path / "okta.json", [OKTA, no_ip, bad_ip, bad_ts, OKTA])
    df, rep = read(path)
    assert len(df) == 5 and rep.skipped == 0
    assert df["src_ip"].isna().tolist() == [False, True, True, False, False]
    assert df["ts"].isna().tolist() == [False, False, False, True, False]
    assert dict(rep.files[0].nulled) == {
        "missing client IP": 1,
        "invalid client IP": 1,
        "unparseable timestamp": 1,
    }


def test_sentinel_csv_missing_required_column(tmp_path):
    with (DATA / "sentinel_signinlogs.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))
    drop = rows[0].index("IPAddress")
    path = tmp_path / "query_data.csv"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([r[:drop] + r[drop + 1 :] for r in rows])
    with pytest.raises(FormatError, match=r"query_data.csv:1 \(field 'IPAddress'\).*'IPAddress'"):
        attrib.read(path)


def test_purview_csv_without_auditdata(tmp_path):
    path = tmp_path / "audit.csv"
    path.write_text("CreationDate,UserIds,Operations,ResultIndex\n2024-01-01,u,UserLoggedIn,1\n")
    with pytest.raises(FormatError, match="'AuditData'"):
        attrib.read(path)


def test_csv_bad_rows_counted(tmp_path):
    text = (DATA / "m365_purview.csv").read_text().splitlines()
    text.insert(2, "only,three,fields")
    text.append('x,2024-01-01,1,Op,u,"{not json",,')
    text.append('x,2024-01-01,1,Op,u,"{""foo"": 1}",,')
    path = tmp_path / "audit.csv"
    path.write_text("\n".join(text) + "\n")
    df, rep = read(path)
    assert len(df) == 3
    assert rep.files[0].skipped == {
        "field count mismatch": 1,
        "invalid AuditData JSON": 1,
        "AuditData is not an audit record": 1,
    }
    assert rep.files[0].first_bad_line["field count mismatch"] == 3


def test_too_many_bad_rows(tmp_path):
    path = lines(tmp_path / "okta.json", [OKTA] + ["{oops"] * 30)
    with pytest.raises(TooManyBadRowsError, match="okta.json:2"):
        attrib.read(path, max_bad_rows=10)


def test_empty_and_whitespace_files(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text("")
    with pytest.raises(UnknownFormatError, match="empty"):
        attrib.read(path)
    blank = tmp_path / "blank.json"
    blank.write_text("\n\n   \n")
    with pytest.raises(UnknownFormatError):
        attrib.read(blank)


SHARED = Path(__file__).resolve().parents[1] / "data" / "ref"


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared reference data absent")
def test_sniffers_do_not_claim_other_formats():
    """Zeek TSV/JSON logs, nfdump CSV, pcaps and OneLogin events are none of ours."""
    from attrib.io._source import open_source as src_of
    from attrib.io.suricata import sniff as eve_sniff

    files = [
        p
        for d in ("samples/otrf-apt29", "zeek-btest/Baseline", "samples/nfdump")
        for p in sorted((SHARED / d).rglob("*"))
        if p.is_file() and p.name != "LICENSE"
    ]
    assert len(files) > 50
    for p in files:
        head = src_of(p).head()
        assert sniff(head) is None, p
        assert eve_sniff(head) is None, p
    onelogin = yaml.safe_load(
        (SHARED / "samples/panther-fixtures/onelogin_high_risk_failed_login.yml").read_text()
    )
    body = "".join(json.dumps(t["Log"]) + "\n" for t in onelogin["Tests"]).encode()
    assert sniff(body) is None and eve_sniff(body) is None


def test_log_analytics_result_bad_rows_and_truncation(tmp_path):
    cols = [
        {"name": n, "type": "string"}
        for n in ("TimeGenerated", "UserPrincipalName", "IPAddress", "ResultType")
    ]
    rows = [
        ["2024-01-01T00:00:00Z", "u@x", "192.0.2.1", "0"],
        ["2024-01-01T00:00:01Z", "u@x"],
        ["2024-01-01T00:00:02Z", "u@x", "192.0.2.2", "50126"],
        ["2024-01-01T00:00:03Z", "u@x", "192.0.2.3", "0"],
    ]
    body = json.dumps({"tables": [{"name": "PrimaryResult", "columns": cols, "rows": rows}]})
    path = tmp_path / "q.json"
    path.write_text(body[:-30])  # cut inside the last row
    df, rep = read(path)
    assert list(df["src_ip"]) == ["192.0.2.1", "192.0.2.2"]
    assert list(df["outcome"]) == ["success", "failure"]
    assert rep.files[0].skipped == {
        "row width differs from columns": 1,
        "truncated or invalid JSON document": 1,
    }
    assert rep.files[0].first_bad_line["row width differs from columns"] == 2


def test_deep_json_text_inside_a_field_is_not_a_crash(tmp_path):
    """A fuzz find: ``"target": "[[[..."`` (JSON text in a string) hit ``json.loads``, whose
    recursion escaped as ``RecursionError`` and aborted the whole file (exit 70)."""
    deep = dict(OKTA, uuid="e2", target="[" * 5000, request={"ipChain": "[" * 5000})
    df, rep = read(lines(tmp_path / "okta.json", [OKTA, deep]))
    assert len(df) == 2 and not rep.failed
