"""Targeting features pinned on hand-built tables."""

from __future__ import annotations

import math

import pytest

from attrib.context import OrgContext
from attrib.features import build_origin_days, build_origins

from .conftest import by_ip, conn, make_events, signin

A, B, C = "203.0.113.1", "203.0.113.2", "203.0.113.3"


def _spray() -> list[dict]:
    rows = [signin("2026-11-02T01:00:00Z", A, f"u{i}@o", error_code="50126") for i in range(6)]
    rows += [signin("2026-11-02T02:00:00Z", A, "u0@o", error_code="50053"),
             signin("2026-11-02T03:00:00Z", A, "u1@o", error_code="50076"),
             signin("2026-11-03T01:00:00Z", A, "u0@o", error_code="50034"),
             signin("2026-11-03T02:00:00Z", A, "u9@o", outcome="success")]  # fmt: skip
    return rows


def test_accounts_attempts_failures_error_mix():
    o = by_ip(build_origins(make_events(_spray()), context=OrgContext(accounts=20))).loc[A]
    assert o["n_accounts"] == 7
    # (account, day) pairs: day1 u0:2 u1:2 u2..u5:1 ; day2 u0:1 u9:1 -> 10 attempts / 8 pairs
    assert o["attempts_per_account_day"] == pytest.approx(10 / 8)
    assert o["max_accounts_per_day"] == 6
    assert o["failure_ratio"] == pytest.approx(9 / 10)
    assert o["err_invalid_password_share"] == pytest.approx(6 / 9)
    assert o["err_locked_share"] == pytest.approx(1 / 9)
    assert o["err_mfa_share"] == pytest.approx(1 / 9)
    assert o["err_unknown_account_share"] == pytest.approx(1 / 9)
    assert o["account_share"] == pytest.approx(7 / 20)
    assert o["success_then_access"] == 0.0
    assert o["accounts"].split(";")[0] == "u0@o"


def test_account_share_inferred_from_data_and_services_hosts():
    rows = _spray() + [signin("2026-11-02T09:00:00Z", B, "boss@o", outcome="success"),
                       conn("2026-11-02T09:00:00Z", C, dst="192.0.2.10", port=443),
                       conn("2026-11-02T09:01:00Z", C, dst="192.0.2.11", port=22),
                       conn("2026-11-02T09:02:00Z", C, dst="192.0.2.11", port=22)]  # fmt: skip
    o = by_ip(build_origins(make_events(rows)))
    assert o.loc[A, "account_share"] == pytest.approx(7 / 8)  # 8 distinct accounts seen
    assert o.loc[C, "n_hosts"] == 2 and o.loc[C, "n_services"] == 2
    assert o.loc[C, "n_accounts"] == 0  # identity data exists; C touched none
    assert math.isnan(o.loc[C, "failure_ratio"]) and math.isnan(o.loc[C, "success_then_access"])
    assert o.loc[A, "n_hosts"] == 0


def test_nan_when_input_kind_missing():
    o = by_ip(build_origins(make_events([conn("2026-11-02T09:00:00Z", C)]))).loc[C]
    assert math.isnan(o["n_accounts"]) and math.isnan(o["account_share"])
    o = by_ip(build_origins(make_events(_spray()))).loc[A]
    assert math.isnan(o["n_hosts"])


def test_success_then_access():
    rows = [signin("2026-11-02T01:00:00Z", A, "v@o", outcome="success"),
            {"ts": "2026-11-02T01:05:00Z", "src_ip": A, "user": "v@o", "source": "m365",
             "event_type": "MailItemsAccessed", "outcome": "success"},
            signin("2026-11-02T01:00:00Z", B, "v@o", outcome="success"),
            {"ts": "2026-11-02T00:05:00Z", "src_ip": B, "user": "v@o", "source": "m365",
             "event_type": "MailItemsAccessed", "outcome": "success"}]  # fmt: skip
    o = by_ip(build_origins(make_events(rows)))
    assert o.loc[A, "success_then_access"] == 1.0
    assert o.loc[B, "success_then_access"] == 0.0  # access came before the sign-in
    # audit access events are not sign-in attempts
    assert o.loc[A, "failure_ratio"] == 0.0 and o.loc[A, "attempts_per_account_day"] == 1.0


def test_origin_days():
    d = build_origin_days(make_events(_spray()))
    assert list(d["n_events"]) == [8, 2]
    assert list(d["n_accounts"]) == [6, 2]
    assert list(d["n_failures"]) == [8, 1]
