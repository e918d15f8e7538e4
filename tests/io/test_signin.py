"""Identity-log readers (entra, okta, m365) on vendor-shaped events in every export shape."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import attrib
from attrib.io import ReadReport, detect_format, open_source
from attrib.schema import EVENT_DTYPES

PANTHER = Path(__file__).resolve().parents[1] / "data" / "ref" / "samples" / "panther-fixtures"
DATA = Path(__file__).resolve().parents[1] / "data" / "signin"

needs_panther = pytest.mark.skipif(not PANTHER.is_dir(), reason="shared panther fixtures absent")


def panther_logs(name: str) -> list[dict[str, Any]]:
    doc = yaml.safe_load((PANTHER / f"{name}.yml").read_text())
    return [t["Log"] for t in doc["Tests"]]


def azure_logs() -> list[dict[str, Any]]:
    return [
        log
        for name in ("azure_failed_signins", "azure_high_risk_signin", "azure_legacyauth")
        for log in panther_logs(name)
    ]


def write_lines(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def read(path: Path, **kw: Any) -> tuple[pd.DataFrame, ReadReport]:
    rep = ReadReport()
    df = attrib.read(path, report=rep, **kw)
    assert list(df.columns) == list(EVENT_DTYPES)
    return df, rep


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# --- Entra ID: Azure Monitor diagnostic export -------------------------------------------------

ENTRA_FAILED = {  # azure_failed_signins.yml, "Failed Sign-In" (service principal)
    "ts": ts("2023-07-26 22:58:30.983201900"),
    "src_ip": "12.12.12.12",
    "user": "some-service-principal",
    "app": "some-service-principal",
    "event_type": "ServicePrincipalSignInLogs",
    "outcome": "failure",
    "error_code": "7000215",
    "uid": "36658c78-02d9-4d8f-84ee-5ca4a3fdefef",
    "prov_city": "Dublin",
    "prov_country": "IE",
    "prov_lat": 51.35555555555555,
    "prov_lon": -5.244444444444444,
    "source": "entra",
}
ENTRA_LEGACY = {  # azure_legacyauth.yml, "Sign-In with legacy auth"
    "ts": ts("2023-07-21 05:03:52.160562400"),
    "src_ip": "12.12.12.12",
    "user": "eve@lexcorp.com",
    "app": "Office 365 Exchange Online",
    "event_type": "SignInLogs",
    "user_agent": "BAV2ROPC",
    "service": "Authenticated SMTP",
    "outcome": "success",
    "error_code": "0",
    "prov_asn": 1234,
    "prov_city": "Springfield",
    "prov_country": "US",
    "prov_lat": 34.55555555555555,
    "prov_lon": -74.4444444444444,
}


def check_row(row: pd.Series, expected: dict[str, Any]) -> None:
    for col, want in expected.items():
        assert row[col] == want, (col, row[col], want)


@needs_panther
@pytest.mark.parametrize("shape", ["lines", "array", "records", "records-gz"])
def test_entra_azure_monitor_export_shapes(tmp_path, shape):
    logs = azure_logs()
    path = tmp_path / "signins.json"
    if shape == "lines":
        write_lines(path, logs)
    elif shape == "array":
        path.write_text(json.dumps(logs, indent=2))
    else:
        body = json.dumps({"records": logs}).encode()
        if shape == "records-gz":
            path = tmp_path / "PT1H.json.gz"
            body = gzip.compress(body)
        path.write_bytes(body)
    assert detect_format(open_source(path)) == "entra"
    df, rep = read(path)
    assert len(df) == len(logs) == 7 and rep.skipped == 0
    check_row(df.iloc[0], ENTRA_FAILED)
    check_row(df.iloc[5], ENTRA_LEGACY)
    assert df["dst_ip"].isna().all()
    # high-risk sign-in from Moscow: errorCode 0, 7 fractional digits with Z
    check_row(
        df.iloc[2],
        {
            "ts": ts("2025-01-15 14:23:10.1234567"),
            "src_ip": "4.4.4.4",
            "user": "john@justice.org",
            "outcome": "success",
            "prov_city": "Moscow",
            "prov_lat": 55.7558,
            "prov_lon": 37.6173,
            "service": "Browser",
        },
    )
    assert pd.isna(df.iloc[0]["prov_asn"]) and pd.isna(df.iloc[0]["user_agent"])


def to_graph(log: dict[str, Any]) -> dict[str, Any]:
    """The Graph signIn resource is the Azure Monitor ``properties`` object."""
    return dict(log["properties"])


def to_sentinel(log: dict[str, Any]) -> dict[str, Any]:
    """Log Analytics SigninLogs row (flat PascalCase) built from an Azure Monitor record."""
    p = log["properties"]
    return {
        "TimeGenerated": log.get("time"),
        "CreatedDateTime": p.get("createdDateTime"),
        "Category": log.get("category"),
        "OperationName": "Sign-in activity",
        "ResultType": str(p["status"]["errorCode"]),
        "UserPrincipalName": p.get("userPrincipalName"),
        "ServicePrincipalName": p.get("servicePrincipalName"),
        "AppDisplayName": p.get("appDisplayName"),
        "IPAddress": p.get("ipAddress"),
        "UserAgent": p.get("userAgent"),
        "ClientAppUsed": p.get("clientAppUsed"),
        "AutonomousSystemNumber": p.get("autonomousSystemNumber"),
        "LocationDetails": json.dumps(p["location"]) if "location" in p else None,
        "Id": p.get("id"),
        "Type": "SigninLogs",
    }


@needs_panther
def test_entra_graph_shape_from_panther_events(tmp_path):
    logs = azure_logs()
    doc = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns",
        "value": [to_graph(x) for x in logs],
    }
    path = tmp_path / "graph.json"
    path.write_text(json.dumps(doc))
    assert detect_format(open_source(path)) == "entra"
    df, _ = read(path)
    expected = {k: v for k, v in ENTRA_FAILED.items() if k != "event_type"}
    check_row(df.iloc[0], expected)
    check_row(df.iloc[5], {k: v for k, v in ENTRA_LEGACY.items() if k != "event_type"})
    assert df["event_type"].isna().all()  # Graph v1.0 has no category


@needs_panther
@pytest.mark.parametrize("container", ["json", "la-api", "csv", "csv-local-header"])
def test_entra_sentinel_rows_from_panther_events(tmp_path, container):
    rows = [to_sentinel(x) for x in azure_logs()]
    if container == "json":
        path = write_lines(tmp_path / "SigninLogs.json", rows)
    elif container == "la-api":  # Log Analytics query API: columns, then rows as arrays
        names = list(rows[0])
        doc = {
            "tables": [
                {
                    "name": "PrimaryResult",
                    "columns": [{"name": n, "type": "string"} for n in names],
                    "rows": [[r[n] for n in names] for r in rows],
                }
            ]
        }
        path = tmp_path / "query.json"
        path.write_text(json.dumps(doc, indent=1))
    else:
        path = tmp_path / "query_data.csv"
        names = list(rows[0])
        header = [f"{n} [UTC]" if n in ("TimeGenerated", "CreatedDateTime") else n for n in names]
        if container == "csv-local-header":
            header[0] = "TimeGenerated [Local Time]"
        with path.open("w", newline="", encoding="utf-8-sig") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            for r in rows:
                w.writerow(["" if r[n] is None else r[n] for n in names])
    assert detect_format(open_source(path)) == "entra"
    if container == "csv-local-header":
        with pytest.raises(attrib.errors.FormatError, match=r"Local Time.*UTC"):
            read(path)
        return
    df, rep = read(path)
    assert rep.skipped == 0
    check_row(df.iloc[0], ENTRA_FAILED)
    check_row(df.iloc[5], ENTRA_LEGACY)


def test_entra_sentinel_csv_committed_sample():
    path = DATA / "sentinel_signinlogs.csv"
    assert detect_format(open_source(path)) == "entra"
    df, rep = read(path)
    assert len(df) == 3 and rep.skipped == 0
    check_row(
        df.iloc[0],
        {
            "ts": ts("2024-03-05T09:13:58.2145011"),
            "src_ip": "81.2.69.160",
            "user": "alice@contoso.example",
            "app": "Office 365 Exchange Online",
            "outcome": "success",
            "error_code": "0",
            "prov_asn": 5089,
            "prov_city": "London",
            "prov_country": "GB",
            "prov_lat": 51.5073,
            "prov_lon": -0.1277,
            "service": "Browser",
            "event_type": "SignInLogs",
        },
    )
    check_row(
        df.iloc[1],
        {
            "src_ip": "2a03:b0c0:2:d0::1:a001",
            "outcome": "failure",
            "error_code": "50126",
            "prov_city": "Amsterdam",
        },
    )
    # 50074 = MFA required: an interrupt, not a refusal
    check_row(df.iloc[2], {"outcome": "other", "error_code": "50074"})
    assert pd.isna(df.iloc[2]["prov_lat"])


def test_entra_graph_committed_sample():
    path = DATA / "graph_signins.json"
    assert detect_format(open_source(path)) == "entra"
    df, _ = read(path)
    assert list(df["outcome"]) == ["failure", "success"]
    check_row(
        df.iloc[0],
        {
            "ts": ts("2024-03-06T07:54:59"),
            "user": "bob@contoso.example",
            "app": "Graph Explorer",
            "src_ip": "198.51.100.77",
            "error_code": "50126",
            "prov_lat": 47.6062,
            "prov_lon": -122.3321,
        },
    )


# --- Okta ---------------------------------------------------------------------------------------

OKTA_FIRST = {
    "ts": ts("2022-06-22 18:18:29.015"),
    "src_ip": "1.3.2.4",
    "user": "homer.simpson@duff.com",
    "event_type": "user.session.start",
    "outcome": "failure",
    "error_code": "INVALID_CREDENTIALS",
    "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/102.0.0.0 Safari/537.36",
    "prov_asn": 701,
    "prov_as_org": "verizon",
    "prov_city": "Springfield",
    "prov_country": "United States",
    "prov_lat": 20.0,
    "prov_lon": -25.0,
    "uid": "AbC-123-XyZ",
    "source": "okta",
}


@needs_panther
@pytest.mark.parametrize("shape", ["array", "lines"])
def test_okta_panther_events(tmp_path, shape):
    logs = panther_logs("okta_anonymizing_vpn_login")
    path = tmp_path / "okta.json"
    if shape == "array":
        path.write_text(json.dumps(logs))
    else:
        write_lines(path, logs)
    assert detect_format(open_source(path)) == "okta"
    df, rep = read(path)
    assert len(df) == 3 and rep.skipped == 0
    check_row(df.iloc[0], OKTA_FIRST)
    assert df.iloc[1]["error_code"] == "FastPass declined phishing attempt"
    assert df["app"].isna().all()


def test_okta_outcomes_ipchain_and_app(tmp_path):
    base = {
        "published": "2024-01-02T03:04:05.678Z",
        "eventType": "user.authentication.sso",
        "uuid": "u",
        "actor": {"alternateId": "a@b.c"},
        "client": {},
    }
    recs = []
    for result in ["SUCCESS", "ALLOW", "FAILURE", "DENY", "SKIPPED", "CHALLENGE", "UNKNOWN"]:
        recs.append({**base, "outcome": {"result": result}})
    recs.append(
        {
            **base,
            "outcome": {},
            "request": {"ipChain": [{"ip": "2001:db8::7"}]},
            "target": [
                {"type": "User", "displayName": "x"},
                {"type": "AppInstance", "displayName": "Salesforce"},
            ],
        }
    )
    df, _ = read(write_lines(tmp_path / "o.json", recs))
    assert list(df["outcome"].astype(object).fillna("-")) == [
        "success",
        "success",
        "failure",
        "failure",
        "other",
        "other",
        "other",
        "-",
    ]
    assert df.iloc[7]["src_ip"] == "2001:db8::7" and df.iloc[7]["app"] == "Salesforce"


# --- Microsoft 365 Unified Audit Log -----------------------------------------------------------

M365_FAILED = {
    "ts": ts("2022-12-12 15:57:57"),
    "src_ip": "1.2.3.4",
    "user": "sample.user@yourorg.onmicrosoft.com",
    "event_type": "UserLoginFailed",
    "outcome": "failure",  # although ResultStatus says "Success"
    "error_code": "InvalidUserNameOrPassword",
    "app": "123-abc-sfa-321",
    "service": "AzureActiveDirectory",
    "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/107.0.0.0 Safari/537.36",
    "uid": "abc-def-123",
    "source": "m365",
}


@needs_panther
@pytest.mark.parametrize("shape", ["array", "lines", "purview-csv"])
def test_m365_panther_events(tmp_path, shape):
    logs = panther_logs("microsoft365_brute_force_login_by_user")
    path = tmp_path / "audit.json"
    if shape == "array":
        path.write_text(json.dumps(logs, indent=1))
    elif shape == "lines":
        write_lines(path, logs)
    else:
        path = tmp_path / "audit.csv"
        with path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["CreationDate", "UserIds", "Operations", "AuditData", "ResultIndex"])
            for i, log in enumerate(logs, 1):
                w.writerow(
                    [log["CreationTime"], log["UserId"], log["Operation"], json.dumps(log), i]
                )
    assert detect_format(open_source(path)) == "m365"
    df, rep = read(path)
    assert len(df) == 2 and rep.skipped == 0
    check_row(df.iloc[0], M365_FAILED)
    check_row(df.iloc[1], {"event_type": "UserLoggedIn", "outcome": "success"})
    assert pd.isna(df.iloc[1]["error_code"]) and pd.isna(df.iloc[1]["service"])


def test_m365_purview_committed_sample():
    path = DATA / "m365_purview.csv"
    assert detect_format(open_source(path)) == "m365"
    df, _ = read(path)
    assert list(df["event_type"]) == ["MailItemsAccessed", "UserLoginFailed", "FileAccessed"]
    assert list(df["src_ip"]) == ["2001:db8:85a3::8a2e:370:7334", "203.0.113.45", "203.0.113.45"]
    assert list(df["src_port"].astype(object).fillna(-1)) == [51234, -1, 40001]
    assert list(df["outcome"].astype(object).fillna("-")) == ["success", "failure", "-"]
    assert df.iloc[1]["user_agent"] == "python-requests/2.31.0"
    assert df.iloc[2]["user_agent"].startswith("Mozilla/5.0 (Windows NT 10.0")
    assert df.iloc[0]["app"] == "00000002-0000-0ff1-ce00-000000000000"
    assert df.iloc[1]["error_code"] == "InvalidUserNameOrPassword"


@pytest.mark.parametrize(
    ("field", "raw", "ip", "port"),
    [
        ("ClientIP", "1.2.3.4", "1.2.3.4", None),
        ("ClientIP", "1.2.3.4:56789", "1.2.3.4", 56789),
        ("ClientIP", "[2001:db8::1]:443", "2001:db8::1", 443),
        ("ClientIP", "2001:DB8:0:0::1", "2001:db8::1", None),
        ("ClientIP", "::ffff:1.2.3.4", "1.2.3.4", None),
        ("ClientIPAddress", "[::ffff:10.0.0.1]:80", "10.0.0.1", 80),
        ("ActorIpAddress", "5.6.7.8", "5.6.7.8", None),
    ],
)
def test_m365_client_ip_forms(tmp_path, field, raw, ip, port):
    rec = {
        "CreationTime": "2024-01-01T00:00:00",
        "Id": "1",
        "Operation": "MailItemsAccessed",
        "RecordType": 50,
        "Workload": "Exchange",
        "UserId": "u@x",
        field: raw,
    }
    df, _ = read(write_lines(tmp_path / "a.json", [rec]))
    assert df.iloc[0]["src_ip"] == ip
    assert pd.isna(df.iloc[0]["src_port"]) if port is None else df.iloc[0]["src_port"] == port


def test_chunks_bounded_for_arrays_and_wrappers(tmp_path):
    recs = [
        {
            "id": str(i),
            "createdDateTime": "2024-03-06T07:54:59Z",
            "userPrincipalName": "u",
            "ipAddress": f"192.0.2.{i % 250}",
            "status": {"errorCode": 0},
        }
        for i in range(23)
    ]
    for body in (
        json.dumps(recs),
        json.dumps({"value": recs}),
        json.dumps({"value": recs[:10]}) + "\n" + json.dumps({"value": recs[10:]}),
    ):
        path = tmp_path / "g.json"
        path.write_text(body)
        sizes = [len(c) for c in attrib.iter_read(path, chunksize=5)]
        assert sizes == [5, 5, 5, 5, 3]


def test_sniff_record_longer_than_the_head(tmp_path):
    """A sign-in with hundreds of CA policies is longer than the 64 KiB sniffing window."""
    big = {
        "time": "2024-03-06T07:54:59.1234567Z",
        "category": "SignInLogs",
        "operationName": "Sign-in activity",
        "resultType": "0",
        "properties": {
            "createdDateTime": "2024-03-06T07:54:58Z",
            "userPrincipalName": "big@contoso.example",
            "ipAddress": "198.51.100.9",
            "status": {"errorCode": 0},
            "appliedConditionalAccessPolicies": [
                {"id": str(i), "displayName": f"policy {i}", "result": "notApplied"}
                for i in range(3000)
            ],
        },
    }
    for layout in ("lines", "array"):
        path = tmp_path / f"{layout}.json"
        body = json.dumps([big, big]) if layout == "array" else json.dumps(big) + "\n"
        path.write_text(body)
        assert len(body) > 64 * 1024
        assert detect_format(open_source(path)) == "entra"
        df, _ = read(path)
        assert df.iloc[0]["user"] == "big@contoso.example"


@needs_panther
def test_entra_properties_as_json_text(tmp_path):
    """Some Event Hub pipelines stringify ``properties``."""
    logs = [{**x, "properties": json.dumps(x["properties"])} for x in azure_logs()]
    path = write_lines(tmp_path / "eh.json", logs)
    assert detect_format(open_source(path)) == "entra"
    df, _ = read(path)
    check_row(df.iloc[0], ENTRA_FAILED)
    check_row(df.iloc[5], ENTRA_LEGACY)
