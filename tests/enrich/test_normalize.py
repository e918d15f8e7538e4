from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attrib.enrich import normalize_ips

CASES = [
    ("1.2.3.4", "1.2.3.4", None),
    ("  1.2.3.4\t", "1.2.3.4", None),
    ("1.2.3.4:443", "1.2.3.4", None),
    ("[2001:db8::1]:443", "2001:db8::1", None),
    ("[2001:DB8::1]", "2001:db8::1", None),
    ("2001:DB8:0:0:0:0:0:1", "2001:db8::1", None),
    ("::ffff:1.2.3.4", "1.2.3.4", None),
    ("::FFFF:102:304", "1.2.3.4", None),
    ("fe80::1%eth0", "fe80::1", None),
    ("[fe80::1%25eth0]:22", "fe80::1", None),
    ("1.2.3[.]4", "1.2.3.4", None),
    ("1[.]2[.]3[.]4", "1.2.3.4", None),
    ("1(.)2.3.4", "1.2.3.4", None),
    ("1.2.3{.}4", "1.2.3.4", None),
    ("2001:db8[:]:1", "2001:db8::1", None),
    ("hxxp://1.2.3[.]4:8080/x", "1.2.3.4", None),
    ("hxxps[:]//[2001:db8::2]/", "2001:db8::2", None),
    ('"8.8.8.8"', "8.8.8.8", None),
    ("1.2.3.4/32", "1.2.3.4", None),
    ("1.2.3.0/24", None, "network, not an address"),
    ("01.2.3.4", None, "IPv4 with leading zeros (ambiguous)"),
    ("1.2.3.256", None, "not an IP address"),
    ("", None, "empty"),
    ("   ", None, "empty"),
    ("example.com", None, "not an IP address"),
    ("1.2.3.4:99999", None, "port out of range"),
]


@pytest.mark.parametrize(("raw", "norm", "err"), CASES)
def test_forms(raw: str, norm: str | None, err: str | None) -> None:
    ips, errs = normalize_ips([raw])
    assert (None if pd.isna(ips[0]) else ips[0]) == norm
    assert (None if pd.isna(errs[0]) else errs[0]) == err


def test_non_text_and_missing_rows_are_reported() -> None:
    ips, errs = normalize_ips(pd.Series([None, 12, float("nan"), "1.1.1.1"], index=[5, 6, 7, 8]))
    assert list(ips.index) == [5, 6, 7, 8]
    assert ips.isna().tolist() == [True, True, True, False]
    assert errs[5] == "empty" and errs[6] == "not text (int)" and pd.isna(errs[8])
    assert str(ips.dtype) == "string"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=60), st.ip_addresses().map(str)), max_size=20))
def test_never_crashes_and_every_row_is_answered(values: list[str]) -> None:
    ips, errs = normalize_ips(values)
    assert len(ips) == len(errs) == len(values)
    # exactly one of (address, reason) per row
    assert (ips.isna() ^ errs.isna()).all()


@settings(max_examples=200, deadline=None)
@given(st.ip_addresses(), st.integers(0, 65535), st.sampled_from(["", " ", "\t"]))
def test_decorated_addresses_round_trip(addr, port: int, pad: str) -> None:
    import ipaddress

    plain = addr.ipv4_mapped if getattr(addr, "ipv4_mapped", None) else addr
    text = str(addr)
    forms = [text, text.upper()]
    if addr.version == 4:
        forms += [f"{text}:{port}", text.replace(".", "[.]")]
    else:
        forms += [f"[{text}]:{port}", f"{text}%eth0"]
    ips, errs = normalize_ips([pad + f + pad for f in forms])
    assert errs.isna().all(), list(zip(forms, errs, strict=True))
    assert {ipaddress.ip_address(x) for x in ips} == {plain}


@settings(max_examples=400, deadline=None)
@given(st.ip_addresses())
def test_canonical_text_matches_ipaddress(addr) -> None:
    import ipaddress

    want = addr.ipv4_mapped if getattr(addr, "ipv4_mapped", None) else addr
    for form in (str(addr), addr.exploded, str(addr).upper()):
        ips, errs = normalize_ips([form])
        assert ips[0] == str(want), form
        assert ipaddress.ip_address(ips[0]) == want
