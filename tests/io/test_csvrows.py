"""The CSV layer under the Sentinel and Purview readers (property-based round trips)."""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attrib
from attrib.io._csvrows import csv_header, normalize_header

HEADER = [
    "TimeGenerated [UTC]",
    "UserPrincipalName",
    "AppDisplayName",
    "IPAddress",
    "ResultType",
    "UserAgent",
    "LocationDetails",
    "AutonomousSystemNumber",
]
# any text a vendor could put in a cell: quotes, commas, newlines, non-ASCII (no NUL/surrogates)
cell = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=40
)
row = st.fixed_dictionaries(
    {
        "ts": st.datetimes(
            min_value=pd.Timestamp("2000-01-01").to_pydatetime(),
            max_value=pd.Timestamp("2099-01-01").to_pydatetime(),
        ),
        "user": cell,
        "app": cell,
        "ua": cell,
        "city": cell,
        "ip": st.ip_addresses().map(str),
        "code": st.sampled_from([0, 50126, 50074, 53003, 700016]),
        "asn": st.one_of(st.none(), st.integers(1, 2**32 - 1)),
    }
)


def na(v: str) -> object:
    return pd.NA if v == "" else v


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(row, min_size=1, max_size=8), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_sentinel_csv_round_trip(rows, newline, bom):
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator=newline)
    w.writerow(HEADER)
    for r in rows:
        loc = json.dumps({"city": r["city"], "countryOrRegion": "NL"})
        w.writerow(
            [
                r["ts"].isoformat() + "Z",
                r["user"],
                r["app"],
                r["ip"],
                str(r["code"]),
                r["ua"],
                loc,
                "" if r["asn"] is None else r["asn"],
            ]
        )
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "export.csv"
        path.write_bytes(("\ufeff" if bom else "").encode() + buf.getvalue().encode())
        df = attrib.read(path, format="entra")
    assert len(df) == len(rows)
    for (_, got), r in zip(df.iterrows(), rows, strict=True):
        assert got["ts"] == pd.Timestamp(r["ts"], tz="UTC")
        assert got["user"] is na(r["user"]) or got["user"] == r["user"]
        assert got["app"] is na(r["app"]) or got["app"] == r["app"]
        assert got["user_agent"] is na(r["ua"]) or got["user_agent"] == r["ua"]
        assert got["prov_city"] is na(r["city"]) or got["prov_city"] == r["city"]
        addr = ipaddress.ip_address(r["ip"])
        mapped = getattr(addr, "ipv4_mapped", None)  # ::ffff:a.b.c.d is read as a.b.c.d
        assert got["src_ip"] == str(mapped or addr)
        assert got["error_code"] == str(r["code"])
        assert pd.isna(got["prov_asn"]) if r["asn"] is None else got["prov_asn"] == r["asn"]


@given(
    st.lists(
        st.text(
            st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r\n"),
            min_size=1,
            max_size=12,
        ),
        min_size=2,
        max_size=6,
    )
)
def test_csv_header_cells(cells):
    buf = io.StringIO()
    csv.writer(buf).writerow(cells)
    head = buf.getvalue().encode()
    got = csv_header(head)
    if head.lstrip().startswith((b"{", b"[")):
        assert got is None
    else:
        assert got == [c.strip() for c in cells]


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("TimeGenerated [UTC]", "TimeGenerated"),
        ("\ufeffTimeGenerated", "TimeGenerated"),
        ("CreatedDateTime [utc] ", "CreatedDateTime"),
        ("IPAddress", "IPAddress"),
    ],
)
def test_normalize_header(raw, want):
    assert normalize_header(raw) == want


def test_normalize_header_refuses_local_time():
    with pytest.raises(ValueError, match="not in UTC"):
        normalize_header("TimeGenerated [Local Time]")
