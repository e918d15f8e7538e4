"""Sentinel / Log Analytics table shapes and the token fields of the identity readers.

Fixtures under ``tests/data/signin/`` are small synthetic files in the exact published shapes:
``OfficeActivity`` (JSON lines and portal CSV), ``SigninLogs`` + ``AADNonInteractiveUserSignInLogs``
(``az monitor log-analytics query`` output), ``AuditLogs`` (Sentinel rows, Graph
``directoryAudits``, Azure Monitor export), ``MicrosoftGraphActivityLogs`` and ``Okta_CL``
(JSON and CSV), and a Management Activity API ``MailItemsAccessed`` array.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import attrib
from attrib.errors import FormatError, UnknownFormatError
from attrib.io import ReadReport, detect_format, open_source
from attrib.io.signin import resemblance
from attrib.schema import EVENT_DTYPES

DATA = Path(__file__).resolve().parents[1] / "data" / "signin"


def read(name: str | Path, **kw: Any) -> tuple[pd.DataFrame, ReadReport]:
    rep = ReadReport()
    df = attrib.read(DATA / name if isinstance(name, str) else name, report=rep, **kw)
    assert list(df.columns) == list(EVENT_DTYPES)
    assert rep.skipped == 0
    return df, rep


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def check(row: pd.Series, want: dict[str, Any]) -> None:
    for col, value in want.items():
        assert row[col] == value, (col, row[col], value)


MAIL_BIND = {
    "event_type": "MailItemsAccessed",
    "user": "carol@contoso.example",
    "mailbox": "carol@contoso.example",
    "access_type": "Bind",
    "client_info": "Client=REST;Client=RESTSystem;;",
    "service": "Exchange",
    "source": "m365",
}


def test_management_api_mailitemsaccessed_every_field():
    path = DATA / "m365_mailitemsaccessed.json"
    assert detect_format(open_source(path)) == "m365"
    df, _ = read(path)
    check(df.iloc[0], {
        **MAIL_BIND,
        "ts": ts("2024-03-07 10:01:02"),
        "src_ip": "203.0.113.45",
        "src_port": 50231,
        "app_id": "00000002-0000-0ff1-ce00-000000000000",
        "client_app_id": "d3590ed6-52b3-4102-aeff-aad2292ab01c",
        "session_id": "0b6f2c1e-7a51-4f8e-9d7a-3c2b1a0f9e8d",
        "op_count": 3,
        "item_count": 3,  # two items in Inbox, one in Sent Items
        "uid": "5f1a2b3c-0000-4000-8000-00000000a001",
    })  # fmt: skip
    sync = df.iloc[1]
    check(sync, {"access_type": "Sync", "op_count": 1, "src_ip": "2001:db8:4a::17"})
    assert pd.isna(sync["item_count"]) and pd.isna(sync["client_app_id"])  # "" is null


@pytest.mark.parametrize("name", ["sentinel_officeactivity.json", "sentinel_officeactivity.csv"])
def test_sentinel_officeactivity(name):
    assert detect_format(open_source(DATA / name)) == "m365"
    df, _ = read(name)
    assert len(df) == 3
    check(df.iloc[0], {
        **MAIL_BIND,
        "ts": ts("2024-03-08 02:17:55"),
        "src_ip": "198.51.100.77",
        "src_port": 41822,
        "app_id": "00000003-0000-0000-c000-000000000000",
        "item_count": 2,
        "uid": "6a7b8c9d-0000-4000-8000-00000000b001",
    })  # fmt: skip
    check(df.iloc[1], {"access_type": "Sync", "user": "erin@contoso.example"})
    login = df.iloc[2]
    check(login, {
        "event_type": "UserLoggedIn",
        "outcome": "success",
        "service": "AzureActiveDirectory",
        "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",  # ExtendedProperties text
        "app_id": "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7",
    })  # fmt: skip


def test_sentinel_signins_az_cli_output_token_fields():
    path = DATA / "sentinel_signins_az.json"
    assert detect_format(open_source(path)) == "entra"
    df, _ = read(path)
    inter, nonint = df.iloc[0], df.iloc[1]
    check(inter, {
        "ts": ts("2024-03-08 01:58:41.382"),
        "src_ip": "192.0.2.10",
        "user": "carol@contoso.example",
        "outcome": "success",
        "app_id": "d3590ed6-52b3-4102-aeff-aad2292ab01c",
        "session_id": "00a1b2c3-d4e5-4f60-8172-93a4b5c6d7e8",
        "correlation_id": "3e0f7c1a-2b4d-4e6f-8a9b-0c1d2e3f4a5b",
        "token_id": "c2FtcGxlLXRva2VuLWlkLTAwMQ",
        "token_type": "none",
        "token_issuer": "AzureAD",
        "resource_id": "00000002-0000-0ff1-ce00-000000000000",  # not the /tenants/... path
        "signin_kind": "interactive",
        "prov_asn": 64500,
        "prov_city": "Amsterdam",
    })  # fmt: skip
    assert "Root Key Type=Unknown" in inter["auth_details"]
    assert "Is CAE Token=True" in inter["auth_details"]
    check(nonint, {
        "signin_kind": "non_interactive",
        "token_type": "refreshToken",
        "session_id": inter["session_id"],
        "resource_id": "00000003-0000-0000-c000-000000000000",
    })  # fmt: skip
    assert pd.isna(nonint["auth_details"])


def test_signin_kind_from_is_interactive_alone(tmp_path):
    rec = json.loads((DATA / "sentinel_signins_az.json").read_text())[1]
    for k in ("Category", "Type"):
        rec.pop(k)
    path = tmp_path / "s.json"
    path.write_text(json.dumps([rec, {**rec, "IsInteractive": True}]))
    df, _ = read(path)
    assert df["signin_kind"].tolist() == ["non_interactive", "interactive"]


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("sentinel_auditlogs.json", {
            "event_type": "Consent to application", "user": "carol@contoso.example",
            "src_ip": "192.0.2.10", "outcome": "success", "service": "Core Directory",
            "correlation_id": "4f5e6d7c-8b9a-4a0b-9c1d-2e3f4a5b6c7d",
            "ts": ts("2024-03-08 04:02:13.551"),
        }),
        ("graph_directoryaudits.json", {
            "event_type": "Update user", "user": "Microsoft Graph Command Line Tools",
            "app_id": "14d82eec-204b-4c2f-b7e8-296a70dab67e", "outcome": "failure",
            "error_code": "Insufficient privileges", "ts": ts("2024-03-08 05:10:00"),
        }),
        ("azmonitor_auditlogs.json", {
            "event_type": "Add member to group", "user": "admin@contoso.example",
            "src_ip": "192.0.2.44", "outcome": "success",
            "uid": "Directory_6b7c8d9e-0000-4000-8000-00000000e002_QWERT_3",
        }),
    ],
)  # fmt: skip
def test_entra_audit_events_three_shapes(name, want):
    assert detect_format(open_source(DATA / name)) == "entra"
    df, _ = read(name)
    assert len(df) == 1
    check(df.iloc[0], {**want, "source": "entra"})


def test_graph_activity_logs():
    df, _ = read("sentinel_graphactivity.json")
    mail, me = df.iloc[0], df.iloc[1]
    check(mail, {
        "event_type": "MicrosoftGraphActivityLogs",
        "src_ip": "198.51.100.77",
        "app_id": "00000003-0000-0000-c000-000000000000",
        "token_id": "c2FtcGxlLXRva2VuLWlkLTAwMg",  # joins SigninLogs.UniqueTokenIdentifier
        "access_type": "GraphMail",
        "user_agent": "python-requests/2.31.0",
        "error_code": "200",
    })  # fmt: skip
    assert pd.isna(mail["outcome"])  # a request is not a sign-in
    assert me["token_id"] == mail["token_id"]  # "==" padding stripped
    assert pd.isna(me["access_type"])


@pytest.mark.parametrize("name", ["sentinel_okta_cl.json", "sentinel_okta_cl.csv"])
def test_sentinel_okta_cl(name):
    assert detect_format(open_source(DATA / name)) == "okta"
    df, _ = read(name)
    ok, bad = df.iloc[0], df.iloc[1]
    check(ok, {
        "ts": ts("2024-03-08 07:15:29.987"),
        "src_ip": "198.51.100.23",
        "user": "carol@contoso.example",
        "event_type": "user.session.start",
        "outcome": "success",
        "app": "Microsoft Office 365",  # from the target_s JSON text
        "session_id": "102aBcDeFgHiJkLmNoPqRsTu",
        "prov_asn": 64496,
        "prov_as_org": "example broadband",
        "prov_city": "Lisbon",
        "prov_lat": 38.7167,
        "uid": "8a7b6c5d-0000-4000-8000-000000000101",
    })  # fmt: skip
    check(bad, {"outcome": "failure", "error_code": "INVALID_CREDENTIALS"})
    assert pd.isna(bad["session_id"])  # Okta writes "unknown"


def test_okta_api_external_session_id(tmp_path):
    ev = {
        "uuid": "e1", "published": "2024-01-02T03:04:05.678Z", "eventType": "user.session.start",
        "actor": {"alternateId": "a@example.org"}, "client": {"ipAddress": "192.0.2.1"},
        "outcome": {"result": "SUCCESS"},
        "authenticationContext": {"externalSessionId": "102xyz", "authenticationStep": 0},
    }  # fmt: skip
    path = tmp_path / "okta.json"
    path.write_text(json.dumps([ev]))
    df, _ = read(path)
    assert df.iloc[0]["session_id"] == "102xyz"


# --- errors that point the right way --------------------------------------------------------


def _drop(name: str, key: str, tmp_path: Path) -> Path:
    rows = [json.loads(line) for line in (DATA / name).read_text().splitlines()]
    for r in rows:
        r.pop(key)
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    ("name", "key", "shape"),
    [
        ("sentinel_officeactivity.json", "Operation", "OfficeActivity"),
        ("sentinel_okta_cl.json", "eventType_s", "Okta_CL"),
        ("sentinel_auditlogs.json", "InitiatedBy", "audit event"),
    ],
)
def test_resembling_json_named_with_what_it_lacks(tmp_path, capsys, name, key, shape):
    from attrib.cli import main

    path = _drop(name, key, tmp_path)
    with pytest.raises(FormatError, match=f"resemble .*{shape}.* lack '{key}'"):
        attrib.read(path)
    assert main(["read", str(path)]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "flow" not in err and "Traceback" not in err


def test_resembling_csv_names_missing_column(tmp_path):
    lines = (DATA / "sentinel_okta_cl.csv").read_text().splitlines()
    header = lines[0].split(",")
    drop = header.index("eventType_s")
    path = tmp_path / "okta.csv"
    path.write_text("\n".join(",".join(c for i, c in enumerate(header) if i != drop) for _ in [0]))
    assert resemblance(header=path.read_text().split(",")) is not None
    with pytest.raises(FormatError, match="eventType_s"):
        attrib.read(path)


def test_forced_wrong_format_says_which_it_is():
    with pytest.raises(UnknownFormatError, match="not m365.*Okta_CL.*--format okta"):
        attrib.read(DATA / "sentinel_okta_cl.json", format="m365")
    with pytest.raises(UnknownFormatError, match="not okta.*OfficeActivity.*--format m365"):
        attrib.read(DATA / "sentinel_officeactivity.csv", format="okta")


def test_malformed_audit_record_counted_with_reason(tmp_path):
    good = (DATA / "sentinel_officeactivity.json").read_text().splitlines()
    path = tmp_path / "oa.json"
    path.write_text("\n".join([good[0], good[1][:80], json.dumps({"foo": 1}), good[2]]) + "\n")
    rep = ReadReport()
    df = attrib.read(path, report=rep)
    assert len(df) == 2
    assert rep.files[0].skipped == {"invalid JSON": 1, "not an m365 record": 1}


def test_sentinel_signin_csv_row_with_empty_account_is_kept(tmp_path):
    """Regression: rows of a validated sign-in CSV are sign-ins even with empty cells."""
    lines = (DATA / "sentinel_signinlogs.csv").read_text().splitlines()
    header = lines[0].split(",")
    row = next(csv.reader([lines[1]]))
    for col in ("UserPrincipalName", "AppDisplayName", "AppId"):
        row[header.index(col)] = ""
    path = tmp_path / "query_data.csv"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([header, row])
    df, _ = read(path)
    assert len(df) == 1 and pd.isna(df.iloc[0]["user"]) and df.iloc[0]["source"] == "entra"
