"""Client address normalisation and typed columns (property-based where it matters)."""

from __future__ import annotations

import ipaddress

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from attrib.io._base import FileStats, ReadContext
from attrib.io._fields import (
    as_int_array,
    as_str_array,
    normalize_client_ip,
    parse_timestamps,
    split_client_ips,
)

ports = st.integers(min_value=0, max_value=65535)
v4 = st.ip_addresses(v=4)
v6 = st.ip_addresses(v=6).filter(lambda a: a.ipv4_mapped is None)


@given(v4, ports, st.sampled_from(["", " ", "\t"]))
def test_ipv4_plain_and_with_port(addr, port, pad):
    assert normalize_client_ip(f"{pad}{addr}{pad}") == (str(addr), None)
    assert normalize_client_ip(f"{addr}:{port}") == (str(addr), port)


@given(v6, ports, st.booleans())
def test_ipv6_plain_bracketed_and_any_case(addr, port, upper):
    text = addr.exploded.upper() if upper else addr.compressed
    assert normalize_client_ip(text) == (addr.compressed, None)
    assert normalize_client_ip(f"[{text}]") == (addr.compressed, None)
    assert normalize_client_ip(f"[{text}]:{port}") == (addr.compressed, port)


@given(v4, st.one_of(st.none(), ports))
def test_ipv4_mapped_ipv6_becomes_ipv4(addr, port):
    mapped = f"::ffff:{addr}"
    text = mapped if port is None else f"[{mapped}]:{port}"
    assert normalize_client_ip(text) == (str(addr), port)


@given(st.text(max_size=60))
def test_arbitrary_text_never_raises_and_only_yields_addresses(text):
    ip, port = normalize_client_ip(text)
    if ip is None:
        assert port is None
    else:
        assert str(ipaddress.ip_address(ip)) == ip
        assert port is None or 0 <= port <= 65535


def test_rejects_near_misses():
    for text in [
        "1.2.3",
        "1.2.3.4:",
        "1.2.3.4:99999",
        "[2001:db8::1",
        "[2001:db8::1]x",
        "2001:db8::1:80:1:2:3:4:5",
        "host.example.org",
        "1.2.3.4:80:90",
    ]:
        assert normalize_client_ip(text) == (None, None), text
    assert normalize_client_ip("fe80::1%eth0") == ("fe80::1", None)


def test_split_counts_missing_and_invalid():
    ctx = ReadContext(FileStats("f"))
    ips, port = split_client_ips(["1.2.3.4:5", None, "x", "1.2.3.4:5", "", 7], ctx)
    assert ips.tolist() == ["1.2.3.4", pd.NA, pd.NA, "1.2.3.4", pd.NA, pd.NA]
    assert port.tolist() == [5, pd.NA, pd.NA, 5, pd.NA, pd.NA]
    assert dict(ctx.stats.nulled) == {"missing client IP": 2, "invalid client IP": 2}


def test_typed_columns():
    assert as_int_array(["701", 3, None, 2.5, "x", True]).tolist()[:5] == [
        701,
        3,
        pd.NA,
        pd.NA,
        pd.NA,
    ]
    assert as_int_array([70000, 80, -1], "UInt16").tolist() == [pd.NA, 80, pd.NA]
    assert as_str_array([0, 50126.0, "", None, " a "]).tolist() == [
        "0",
        "50126",
        pd.NA,
        pd.NA,
        " a ",
    ]
    ts = parse_timestamps(
        [
            "2023-07-26 22:58:30.983201900",
            "2023-01-25T18:35:43.123456+0000",
            "2023-07-26T23:00:20.8890000Z",
            "7/26/2023, 11:00:20.889 PM",
            "junk",
            None,
        ]
    )
    assert ts.tolist()[:4] == [
        pd.Timestamp("2023-07-26 22:58:30.983201900", tz="UTC"),
        pd.Timestamp("2023-01-25 18:35:43.123456", tz="UTC"),
        pd.Timestamp("2023-07-26 23:00:20.889", tz="UTC"),
        pd.Timestamp("2023-07-26 23:00:20.889", tz="UTC"),
    ]
    assert ts.isna().tolist()[4:] == [True, True]
