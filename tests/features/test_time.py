"""Time features pinned on hand-built tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from attrib.context import OrgContext
from attrib.features import build_origins
from attrib.features.time import HANDOFF_TAU_H

from .conftest import by_ip, conn, make_events, signin

A, B, C = "203.0.113.1", "203.0.113.2", "203.0.113.3"


def test_sightings_lifetime_duty_cycle():
    ev = make_events([
        conn("2026-11-02T10:00:00Z", A), conn("2026-11-02T11:00:00Z", A),
        conn("2026-11-05T10:00:00Z", A), conn("2026-11-06T22:00:00Z", A),
    ])  # fmt: skip
    o = by_ip(build_origins(ev)).loc[A]
    assert o["first_seen"] == pd.Timestamp("2026-11-02T10:00:00Z")
    assert o["last_seen"] == pd.Timestamp("2026-11-06T22:00:00Z")
    assert o["lifetime_days"] == pytest.approx(4.5)
    assert o["active_days"] == 3
    assert o["duty_cycle"] == pytest.approx(3 / 5)  # 3 of the 5 calendar days Nov 2..6
    assert o["events_per_day"] == pytest.approx(4 / 3)
    assert math.isnan(o["seen_before"]) and math.isnan(o["prior_days_seen"])


def test_history_extends_sightings():
    ev = make_events([conn("2026-11-02T10:00:00Z", A), conn("2026-11-02T10:00:00Z", B)])
    hist = pd.DataFrame({"ip": [A], "first_seen": [pd.Timestamp("2026-10-01T00:00:00Z")],
                         "last_seen": [pd.Timestamp("2026-10-03T00:00:00Z")], "days_seen": [3]})  # fmt: skip
    o = by_ip(build_origins(ev, history=hist))
    assert o.loc[A, "first_seen"] == pd.Timestamp("2026-10-01T00:00:00Z")
    assert o.loc[A, "seen_before"] == 1.0 and o.loc[A, "prior_days_seen"] == 3.0
    assert o.loc[A, "lifetime_days"] == pytest.approx(32 + 10 / 24)
    assert o.loc[B, "seen_before"] == 0.0 and o.loc[B, "prior_days_seen"] == 0.0


def test_working_hours_victim_and_best_zone():
    ctx = OrgContext(timezone="Europe/Amsterdam", work_hours=(9, 17))
    # Monday 2026-11-02; Amsterdam is UTC+1 in November
    rows = [conn(f"2026-11-02T{h:02d}:30:00Z", A) for h in (8, 9, 10, 15)]  # 09:30..16:30 local
    rows += [conn(f"2026-11-02T{h:02d}:30:00Z", B) for h in (1, 2, 3, 4)]  # 02:30..05:30 local
    rows += [conn("2026-11-07T10:30:00Z", C)]  # Saturday: never working hours
    o = by_ip(build_origins(make_events(rows), context=ctx))
    assert o.loc[A, "work_hours_share"] == 1.0
    assert o.loc[A, "best_zone_work_share"] == 1.0 and o.loc[A, "zone_shift_h"] == 0.0
    assert o.loc[B, "work_hours_share"] == 0.0
    # 01..04 UTC fits 9-17 in UTC+8 .. UTC+9: the nearest of those to UTC+1 is 7 h away
    assert o.loc[B, "best_zone_work_share"] == 1.0 and o.loc[B, "zone_shift_h"] == 7.0
    assert o.loc[C, "work_hours_share"] == 0.0


def test_handoff_score_and_links():
    ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) rare/1.0"
    ev = make_events([
        signin("2026-11-02T00:00:00Z", A, "x@o", user_agent=ua),
        signin("2026-11-02T12:00:00Z", A, "y@o", user_agent=ua),
        signin("2026-11-02T15:00:00Z", B, "z@o", user_agent=ua),  # starts 3 h after A stops
        signin("2026-11-04T00:00:00Z", C, "w@o", user_agent="other"),
    ])  # fmt: skip
    o = by_ip(build_origins(ev))
    assert o.loc[B, "handoff_score"] == pytest.approx(math.exp(-3 / HANDOFF_TAU_H))
    assert o.loc[A, "handoff_score"] == 0.0  # A has no predecessor
    assert o.loc[A, "handoff_links"] == 1.0 and o.loc[B, "handoff_links"] == 1.0
    assert o.loc[C, "handoff_score"] == 0.0 and o.loc[C, "handoff_links"] == 0.0


def test_handoff_nan_without_traits():
    o = by_ip(build_origins(make_events([conn("2026-11-02T00:00:00Z", A)])))
    assert math.isnan(o.loc[A, "handoff_score"])
