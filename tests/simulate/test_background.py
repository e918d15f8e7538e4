"""The connection-only background: website audience, crawlers, VPN probes, mail senders."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from attrib.simulate._addresses import AddressPool
from attrib.simulate.background import background_day, build_background
from attrib.simulate.presets import PRESETS

T0 = pd.Timestamp("2026-03-02", tz="UTC").timestamp()


def _build(**kw: object):  # type: ignore[no-untyped-def]
    p = replace(PRESETS["demo"], days=6, **kw)  # type: ignore[arg-type]
    rng = np.random.default_rng(5)
    truth: list[pd.DataFrame] = []
    addrs: list[pd.DataFrame] = []
    bg = build_background(p, AddressPool(rng), rng, T0, truth, addrs)
    return p, bg, pd.concat(truth, ignore_index=True), rng


def test_populations_and_their_truth() -> None:
    p, bg, truth, _ = _build(web_visitors_per_day=40.0, crawlers=7, mail_senders=9)
    kinds = truth.drop_duplicates("ip")["kind"].value_counts()
    assert kinds["web_visitor"] == 240 and kinds["crawler"] == 7 and kinds["mail_sender"] == 9
    assert kinds["vpn_scanner"] > 0
    assert (truth.loc[truth["kind"] == "vpn_scanner", "label"] == "confounder").all()
    assert (truth.loc[truth["kind"] == "web_visitor", "label"] == "benign").all()
    # some visitors come back on a later day; crawlers stay
    per_ip = bg.visits.groupby("ip")["day"].nunique()
    assert 1 < per_ip.max() and per_ip.median() == 1


def test_days_are_connection_only_and_inside_the_day() -> None:
    p, bg, _, rng = _build(crawler_conns_per_day=5.0)
    for day in range(p.days):
        s = background_day(bg, p, day, T0, rng)
        assert set(s["service"]) <= {"web", "probe", "smtp"}
        assert ((s["ts"] >= T0 + day * 86400) & (s["ts"] < T0 + (day + 1) * 86400)).all()
    crawl = set(bg.crawlers["ip"])
    s = background_day(bg, p, p.days - 1, T0, rng)
    assert s["ip"].isin(crawl).sum() > len(crawl)


def test_nothing_when_rates_are_zero() -> None:
    p, bg, truth, rng = _build(
        web_visitors_per_day=0.0, crawlers=0, vpn_probers_per_day=0.0, mail_senders=0
    )
    assert len(truth) == 0
    assert len(background_day(bg, p, 0, T0, rng)) == 0
