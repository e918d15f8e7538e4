"""Latency features pinned on hand-built tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from attrib.context import OrgContext
from attrib.features import build_origins
from attrib.features._common import haversine_km
from attrib.features.latency import KM_PER_MS_ONE_WAY, ROUTE_INFLATION

from .conftest import by_ip, conn, make_events

A, B, D = "203.0.113.1", "203.0.113.2", "198.51.100.9"


def test_rtt_gap_ratio_and_distance_bounds(enrichment: pd.DataFrame) -> None:
    ctx = OrgContext.from_dict({"offices": ["198.51.100.0/24"]})
    ev = make_events([
        conn("2026-11-02T10:00:00Z", A, rtt_syn_ms=1.0, rtt_ack_ms=9.0, rtt_app_ms=110.0),
        conn("2026-11-02T10:01:00Z", A, rtt_syn_ms=1.0, rtt_ack_ms=11.0, rtt_app_ms=90.0),
        conn("2026-11-02T10:02:00Z", A, rtt_syn_ms=1.0, rtt_ack_ms=29.0, rtt_app_ms=130.0),
        conn("2026-11-02T10:00:00Z", B, rtt_syn_ms=0.5, rtt_ack_ms=3.5),  # "New York" at 4 ms
        conn("2026-11-02T10:00:00Z", D),  # the office: reference point (Frankfurt)
    ])  # fmt: skip
    o = by_ip(build_origins(ev, enrichment, ctx))
    assert o.loc[A, "rtt_transport_ms"] == 12.0  # median of 10, 12, 30
    assert o.loc[A, "rtt_app_gap_ms"] == 100.0  # per connection 100, 78, 100
    assert o.loc[A, "rtt_app_ratio"] == pytest.approx(110.0 / 12.0)
    ams_fra = float(haversine_km(52.37, 4.90, 50.11, 8.68))
    assert o.loc[A, "geo_dist_ref_km"] == pytest.approx(ams_fra, rel=1e-6)
    assert o.loc[A, "rtt_geo_excess"] == pytest.approx(ams_fra / (6.0 * KM_PER_MS_ONE_WAY))
    est = 110.0 / 2 * KM_PER_MS_ONE_WAY / ROUTE_INFLATION
    assert o.loc[A, "app_dist_excess_km"] == pytest.approx(est - ams_fra)
    # 4 ms allows at most 400 km, the geolocation says ~6200 km: impossible
    assert o.loc[B, "rtt_geo_excess"] > 10
    assert math.isnan(o.loc[B, "rtt_app_gap_ms"]) and math.isnan(o.loc[D, "rtt_transport_ms"])


def test_even_count_median_averages_middle_bins() -> None:
    ev = make_events(
        [conn("2026-11-02T10:00:00Z", A, rtt_ack_ms=v) for v in (10.0, 20.0, 30.0, 90.0)]
    )
    assert by_ip(build_origins(ev)).loc[A, "rtt_transport_ms"] == 25.0


def test_constants_agree_with_the_pcap_reader() -> None:
    pcap = pytest.importorskip("attrib.io.pcap")
    assert KM_PER_MS_ONE_WAY == pcap.FIBRE_KM_PER_MS
    assert ROUTE_INFLATION == pcap.PATH_INFLATION
