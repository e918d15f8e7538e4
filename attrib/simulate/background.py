"""Internet background that reaches the organisation's public range without signing in.

A real organisation's perimeter sees far more origins that only *connect* than origins that
sign in: the public website's audience (home and mobile lines everywhere, most of them once),
search-engine and monitoring crawlers (hosting networks, every day for the whole window),
fleets that fingerprint VPN portals (hosting, a handshake or two to the VPN gateway, some of
them back every few days) and mail servers delivering to the MX. None of them ever attempts an
account. Without them a detector learns that "one service, over plain connections" means a
campaign; with them it has to tell a campaign by behaviour (attempts on accounts, shared
tooling with other exits, hand-offs), not by how few things an origin touched.

:func:`build_background` draws the addresses once per scenario (and writes their ground truth),
:func:`background_day` yields one day's sessions in the shape ``_run`` turns into Zeek rows.
Rates are :class:`~attrib.simulate.presets.SimParams` fields (``web_visitors_per_day``,
``crawlers``, ``vpn_probers_per_day``, ``mail_senders``, ...), drawn per seed by
:mod:`attrib.simulate.randomise`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from attrib.simulate._addresses import AddressPool
from attrib.simulate._frames import frame
from attrib.simulate._frames import truth_frame as _truth
from attrib.simulate._profiles import DEVICES
from attrib.simulate.presets import SimParams

__all__ = ["Background", "background_day", "build_background"]

DAY = 86_400.0
#: Browsers of the website's audience (the employees' own browsers are among them).
_BROWSERS = ("win_chrome", "win_edge", "mac_safari", "ios_safari", "android_chrome")
_BROWSER_P = (0.35, 0.15, 0.1, 0.22, 0.18)
#: TLS clients of crawlers and of VPN-portal fingerprinting fleets.
_BOT_HELLOS = ("go_tls", "python_requests")
_PROBE_HELLOS = ("zgrab", "go_tls", "python_requests")


@dataclass(frozen=True)
class Background:
    """Addresses and schedules of the connection-only populations.

    Attributes
    ----------
    visits
        One row per (visitor address, day): ``ip``, ``day``, ``n`` (connections), ``hello``,
        ``stack``.
    crawlers
        ``ip``, ``hello``, ``start_day``.
    probes
        One row per (prober address, day): ``ip``, ``day``, ``hello``.
    senders
        ``ip`` of the mail servers delivering to the organisation.
    """

    visits: pd.DataFrame
    crawlers: pd.DataFrame
    probes: pd.DataFrame
    senders: np.ndarray


def _visitors(
    p: SimParams, pool: AddressPool, rng: np.random.Generator, t0: float
) -> tuple[pd.DataFrame, list[pd.DataFrame], pd.DataFrame]:
    """The website's audience: mostly one-off, a share coming back on later days."""
    total = max(int(round(p.web_visitors_per_day * p.days)), 0)
    if total == 0:
        empty = frame({"ip": [], "day": [], "n": [], "hello": [], "stack": []})
        return empty, [], _truth([], "web_visitor", "benign", [], [])
    local = rng.random(total) < p.web_local_share
    mobile = rng.random(total) < p.web_mobile_share
    parts: list[pd.DataFrame] = []
    ips = np.empty(total, dtype=object)
    for is_local in (True, False):
        for is_mob in (True, False):
            m = (local == is_local) & (mobile == is_mob)
            k = int(m.sum())
            if not k:
                continue
            nt = "mobile" if is_mob else "residential"
            got = (
                pool.draw(k, country=p.victim_country, net_type=nt)
                if is_local
                else pool.draw_abroad(k, exclude=p.victim_country, net_type=nt)
            )
            parts.append(got)
            ips[m] = got["ip"].to_numpy()[:k]
    day = rng.integers(0, p.days, total)
    dev = rng.choice(np.array(_BROWSERS, dtype=object), total, p=_BROWSER_P)
    # returning visitors: the same address again on a few later days
    back = rng.random(total) < p.web_return_share
    n_back = rng.geometric(0.4, total) * back
    rep = np.repeat(np.arange(total), 1 + n_back)
    offs = np.concatenate([np.r_[0, np.cumsum(rng.integers(1, 6, k))] for k in n_back])
    vday = day[rep] + offs
    keep = vday < p.days
    rep, vday = rep[keep], vday[keep]
    visits = frame(
        {
            "ip": ips[rep],
            "day": vday,
            "n": 1 + rng.poisson(max(p.web_pages_per_visit - 1.0, 0.0), len(rep)),
            "hello": [DEVICES[d].hello for d in dev[rep]],
            "stack": [DEVICES[d].stack for d in dev[rep]],
        }
    )
    first = t0 + day * DAY
    truth = _truth(ips, "web_visitor", "benign", first, first + DAY)
    _end_at_last_day(truth, visits, t0)
    return visits.drop_duplicates(["ip", "day"]), parts, truth


def _end_at_last_day(truth: pd.DataFrame, days: pd.DataFrame, t0: float) -> None:
    """Set each truth row's ``last_active`` to the end of its address's last day in ``days``."""
    last = days.groupby("ip", sort=False)["day"].max()
    truth["last_active"] = t0 + (truth["ip"].map(last).fillna(0).to_numpy(dtype=float) + 1) * DAY


def build_background(
    p: SimParams,
    pool: AddressPool,
    rng: np.random.Generator,
    t0: float,
    truth: list[pd.DataFrame],
    addrs: list[pd.DataFrame],
) -> Background:
    """Draw the connection-only populations of one scenario.

    Parameters
    ----------
    p
        Scenario parameters.
    pool
        Address source.
    rng
        Random generator.
    t0
        Scenario start (epoch seconds).
    truth, addrs
        Ground-truth frames and address tables, appended to.

    Returns
    -------
    Background
        Schedules for :func:`background_day`.
    """
    t1 = t0 + p.days * DAY
    visits, parts, vtruth = _visitors(p, pool, rng, t0)
    addrs += parts
    truth.append(vtruth)
    crawl = pool.draw(max(p.crawlers, 0), net_type="hosting")
    addrs.append(crawl)
    cstart = rng.integers(0, max(p.days // 4, 1), len(crawl))
    crawlers = frame(
        {
            "ip": crawl["ip"].to_numpy(),
            "hello": rng.choice(np.array(_BOT_HELLOS, dtype=object), len(crawl)),
            "start_day": cstart,
        }
    )
    truth.append(_truth(crawlers["ip"], "crawler", "benign", t0 + cstart * DAY, t1))
    probes = _probers(p, pool, rng, t0, truth, addrs)
    send = pool.draw(max(p.mail_senders, 0), net_type="hosting")
    addrs.append(send)
    truth.append(_truth(send["ip"], "mail_sender", "benign", t0, t1))
    return Background(visits, crawlers, probes, send["ip"].to_numpy())


def _probers(
    p: SimParams,
    pool: AddressPool,
    rng: np.random.Generator,
    t0: float,
    truth: list[pd.DataFrame],
    addrs: list[pd.DataFrame],
) -> pd.DataFrame:
    """VPN-portal fingerprinting: fresh addresses daily, a share returning every few days."""
    total = max(int(round(p.vpn_probers_per_day * p.days)), 0)
    got = pool.draw(total, net_type="hosting")
    addrs.append(got)
    ips = got["ip"].to_numpy()[:total]
    day = rng.integers(0, p.days, len(ips))
    back = rng.random(len(ips)) < p.vpn_prober_return_share
    n_back = rng.poisson(3.0, len(ips)) * back
    rep = np.repeat(np.arange(len(ips)), 1 + n_back)
    offs = np.concatenate([np.r_[0, np.cumsum(rng.integers(1, 8, k))] for k in n_back] or [[]])
    pday = day[rep] + offs.astype(np.int64)
    keep = pday < p.days
    hello = rng.choice(np.array(_PROBE_HELLOS, dtype=object), len(ips))
    out = frame({"ip": ips[rep][keep], "day": pday[keep], "hello": hello[rep][keep]})
    out = out.drop_duplicates(["ip", "day"])
    tr = _truth(ips, "vpn_scanner", "confounder", t0 + day * DAY, t0 + (day + 1) * DAY)
    _end_at_last_day(tr, out, t0)
    truth.append(tr)
    return out


def background_day(
    bg: Background, p: SimParams, day: int, t0: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Sessions of the connection-only populations on ``day``.

    Parameters
    ----------
    bg
        From :func:`build_background`.
    p
        Scenario parameters.
    day
        Scenario day.
    t0
        Scenario start (epoch seconds).
    rng
        Random generator.

    Returns
    -------
    pandas.DataFrame
        ``ts``, ``ip``, ``service`` (``web``/``probe``/``smtp``), ``stack``, ``hello``.
    """
    base = t0 + day * DAY
    v = bg.visits[bg.visits["day"].to_numpy() == day]
    k = v["n"].to_numpy(dtype=np.int64)
    rep = np.repeat(np.arange(len(v)), k)
    # a visit is a burst of page loads within minutes, at a waking hour somewhere
    start = rng.random(len(v)) * DAY
    vts = base + start[rep] + rng.exponential(120.0, len(rep))
    c = bg.crawlers[bg.crawlers["start_day"].to_numpy() <= day]
    kc = rng.poisson(p.crawler_conns_per_day, len(c))
    crep = np.repeat(np.arange(len(c)), kc)
    pr = bg.probes[bg.probes["day"].to_numpy() == day]
    kp = 1 + rng.poisson(0.7, len(pr))
    prep = np.repeat(np.arange(len(pr)), kp)
    active = rng.random(len(bg.senders)) < p.mail_sender_active_share
    s_ips = bg.senders[active]
    ks = rng.poisson(p.mails_per_sender_day, len(s_ips))
    srep = np.repeat(np.arange(len(s_ips)), ks)
    parts = [
        frame({"ts": vts, "ip": v["ip"].to_numpy()[rep], "service": "web",
               "stack": v["stack"].to_numpy()[rep], "hello": v["hello"].to_numpy()[rep]}),
        frame({"ts": base + rng.random(len(crep)) * DAY, "ip": c["ip"].to_numpy()[crep],
               "service": "web", "stack": "linux", "hello": c["hello"].to_numpy()[crep]}),
        frame({"ts": base + rng.random(len(pr))[prep] * DAY + rng.exponential(30.0, len(prep)),
               "ip": pr["ip"].to_numpy()[prep], "service": "probe", "stack": "linux",
               "hello": pr["hello"].to_numpy()[prep]}),
        frame({"ts": base + rng.random(len(srep)) * DAY, "ip": s_ips[srep], "service": "smtp",
               "stack": "linux", "hello": ""}),
    ]  # fmt: skip
    out = (
        pd.concat([x for x in parts if len(x)], ignore_index=True)
        if any(len(x) for x in parts)
        else frame({"ts": [], "ip": [], "service": [], "stack": [], "hello": []})
    )
    out["ts"] = np.minimum(out["ts"].to_numpy(dtype=float), base + DAY - 1.0)
    return out
