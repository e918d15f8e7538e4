"""Place and network features pinned on hand-built tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from attrib.context import OrgContext
from attrib.features import build_origins
from attrib.features._common import haversine_km
from attrib.features.place import _loo_median

from .conftest import by_ip, conn, make_events, signin

A, B, C, D = "203.0.113.1", "203.0.113.2", "203.0.113.3", "198.51.100.9"
CTX = OrgContext(home_countries=("NL",), offices=("198.51.100.0/24",))  # type: ignore[arg-type]


def _ctx() -> OrgContext:
    return OrgContext.from_dict({"home_countries": ["NL"], "offices": ["198.51.100.0/24"]})


def test_network_type_country_tags(enrichment: pd.DataFrame) -> None:
    ev = make_events([conn("2026-11-02T10:00:00Z", ip) for ip in (A, B, C, D, "192.0.2.77")])
    o = by_ip(build_origins(ev, enrichment, _ctx()))
    assert o.loc[A, "is_residential"] == 1.0 and o.loc[A, "is_hosting"] == 0.0
    assert o.loc[B, "is_hosting"] == 1.0 and o.loc[C, "is_mobile"] == 1.0
    assert o.loc[D, "is_business"] == 1.0 and o.loc[D, "is_office"] == 1.0
    assert o.loc[A, "net_type_confidence"] == pytest.approx(0.9)
    assert o.loc[A, "same_country"] == 1.0 and o.loc[B, "same_country"] == 0.0
    assert o.loc[B, "tag_cloud"] == 1.0 and o.loc[B, "tag_vpn"] == 1.0
    assert o.loc[B, "tag_tor_exit"] == 0.0 and o.loc[A, "tag_vpn"] == 0.0
    assert o.loc[C, "tag_cgnat"] == 1.0 and o.loc[D, "tag_private_relay"] == 1.0
    # not in the enrichment frame: unknown, not "no"
    for f in ("is_residential", "same_country", "tag_vpn", "net_type_confidence"):
        assert math.isnan(o.loc["192.0.2.77", f])


def test_private_sources_are_not_origins_offices_are() -> None:
    ev = make_events([conn("2026-11-02T10:00:00Z", ip) for ip in ("10.0.0.5", "100.64.1.1", D)])
    o = build_origins(ev, context=_ctx())
    assert list(o["ip"]) == [D]
    o = build_origins(ev, context=OrgContext.from_dict({"services": [D]}))
    assert len(o) == 0


def test_same_country_nan_without_home_countries(enrichment: pd.DataFrame) -> None:
    o = by_ip(build_origins(make_events([conn("2026-11-02T10:00:00Z", A)]), enrichment))
    assert math.isnan(o.loc[A, "same_country"])


def test_loo_median() -> None:
    import numpy as np

    g = np.array([0, 0, 0, 1, 1, 2])
    v = np.array([1.0, 5.0, 3.0, 10.0, 20.0, 7.0])
    got = _loo_median(g, v)
    np.testing.assert_allclose(got[:5], [4.0, 2.0, 3.0, 20.0, 10.0])
    assert np.isnan(got[5])


def test_distance_from_usual_places_and_impossible_travel(enrichment: pd.DataFrame) -> None:
    ev = make_events([
        signin("2026-11-02T08:00:00Z", A, "u@o", outcome="success"),  # Amsterdam
        signin("2026-11-02T09:00:00Z", C, "u@o", outcome="success"),  # Amsterdam
        signin("2026-11-02T10:00:00Z", B, "u@o"),  # New York, 1 h later: impossible
        signin("2026-11-09T10:00:00Z", B, "v@o"),  # only origin of v: no usual place
    ])  # fmt: skip
    o = by_ip(build_origins(ev, enrichment, _ctx()))
    ny_ams = float(haversine_km(40.71, -74.01, 52.37, 4.90))
    assert o.loc[B, "dist_usual_km"] == pytest.approx(ny_ams, rel=1e-6)
    # A's leave-one-out usual place for u is the median of C and B
    assert o.loc[A, "dist_usual_km"] == pytest.approx(
        float(haversine_km(52.37, 4.90, (52.37 + 40.71) / 2, (4.90 - 74.01) / 2)), rel=1e-6
    )
    assert o.loc[B, "impossible_travel_share"] == pytest.approx(0.5)  # u yes, v no
    assert o.loc[C, "impossible_travel_share"] == 1.0
    assert o.loc[A, "impossible_travel_share"] == 0.0  # A->C is the same city
    assert ny_ams == pytest.approx(5860, rel=0.01)
