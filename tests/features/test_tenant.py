"""Tenant-relative features pinned on a hand-built tenant."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from attrib.features import build_origins

from .conftest import by_ip, make_events, signin

NAT = "203.0.113.1"  # carrier address shared by the organisation's own accounts
HOME = "203.0.113.2"  # u0's home line, same carrier ASN as NAT
EXIT = "198.51.100.9"  # an exit in another network, failing on the same accounts
NEW = "203.0.113.3"  # an address seen once, success for one account
CHROME = "Mozilla/5.0 Chrome/133"
OLD = "Mozilla/5.0 Chrome/103"


def _enrichment() -> pd.DataFrame:
    return pd.DataFrame({
        "ip": [NAT, HOME, EXIT, NEW],
        "asn": [64500, 64500, 64999, 64500],
        "country": ["DE", "DE", "DE", "DE"],
        "city": ["Bonn", "Köln", "Berlin", "Bonn"],
        "net_type": ["residential", "residential", "residential", "mobile"],
        "net_type_confidence": [0.9, 0.9, 0.9, 0.9],
        "tags": [None, None, None, "cgnat"],
    })  # fmt: skip


def _rows() -> list[dict]:
    rows = []
    for day in ("02", "03", "04"):
        for u in ("u0", "u1", "u2", "u3"):
            rows.append(signin(f"2026-11-{day}T09:00:00Z", NAT, f"{u}@o", outcome="success",
                               user_agent=CHROME))  # fmt: skip
    rows.append(signin("2026-11-02T20:00:00Z", HOME, "u0@o", outcome="success", user_agent=CHROME))
    rows.append(signin("2026-11-03T21:00:00Z", NEW, "u1@o", outcome="success", user_agent=OLD))
    for u in ("u0", "u1", "u2"):
        rows.append(signin("2026-11-03T02:00:00Z", EXIT, f"{u}@o", error_code="50126",
                           user_agent=OLD))  # fmt: skip
    return rows


@pytest.fixture
def origins() -> pd.DataFrame:
    return by_ip(build_origins(make_events(_rows()), _enrichment()))


def test_shared_nat_is_routine_for_many_accounts(origins: pd.DataFrame) -> None:
    o = origins.loc[NAT]
    assert o["tenant_routine_accounts"] == 4
    assert o["tenant_routine_share"] == 1.0
    assert o["tenant_success_accounts"] == 4 and o["tenant_success_share"] == 1.0
    assert o["tenant_success_days"] == 3.0
    assert o["tenant_shared_nat"] == 1.0
    assert "shared_nat" in str(o["tags"])
    # u0 also succeeds from HOME in the same ASN; u1 from NEW (same ASN): not new for them;
    # u2, u3 have no other successful origin: no history, left out of the share
    assert o["tenant_new_asn_share"] == 0.0
    # u0's Chrome is also seen from HOME; u1's only other success (NEW) used the old Chrome
    assert o["tenant_new_device_share"] == 0.5


def test_exit_is_new_network_and_device_for_the_accounts_it_tries(origins: pd.DataFrame) -> None:
    o = origins.loc[EXIT]
    assert o["tenant_routine_accounts"] == 0 and o["tenant_routine_share"] == 0.0
    assert o["tenant_success_accounts"] == 0
    assert o["tenant_shared_nat"] == 0.0
    assert o["tenant_new_asn_share"] == 1.0  # AS64999: none of u0..u2 ever succeeded there
    assert o["tenant_new_country_share"] == 0.0  # DE, like their usual origins
    # u1's old Chrome is known from NEW; u0's and u2's accounts never used it: 2 of 3
    assert o["tenant_new_device_share"] == pytest.approx(2 / 3)
    # routine origins fail 0%: this one 100% above them
    assert o["tenant_failure_excess"] == pytest.approx(1.0)


def test_leave_one_out_an_origin_never_vouches_for_itself(origins: pd.DataFrame) -> None:
    o = origins.loc[NEW]  # u1's only other successes are from NAT, same ASN
    assert o["tenant_new_asn_share"] == 0.0
    assert o["tenant_new_device_share"] == 1.0  # the old Chrome only ever from NEW itself
    assert o["tenant_routine_accounts"] == 0  # one day only
    assert o["tenant_shared_nat"] == 0.0


def test_nan_without_identity_data() -> None:
    from .conftest import conn

    o = by_ip(build_origins(make_events([conn("2026-11-02T09:00:00Z", NAT)]))).loc[NAT]
    for c in ("tenant_routine_accounts", "tenant_new_asn_share", "tenant_shared_nat"):
        assert math.isnan(o[c])
