"""Realism checks: the logs show the rates, lifetimes, shares and sharing the parameters ask for.

Measured from the written files (read back with attrib's readers) against the parameters, for
three scenarios with different seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import attrib.io as aio
from attrib.simulate import SimulationResult
from attrib.simulate.campaigns import NEARBY

pytestmark = pytest.mark.slow

DAY = pd.Timedelta(days=1)


@pytest.fixture(params=["demo_a", "demo_c", "two_sided"])
def run(request: pytest.FixtureRequest) -> SimulationResult:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def _events(run: SimulationResult) -> pd.DataFrame:
    sign = aio.read(run.paths["signins"])
    conn = aio.read(run.paths["conn"])
    mail = aio.read(run.paths["audit"])
    return pd.concat([sign.assign(kind="signin"), conn.assign(kind="conn"),
                      mail.assign(kind="mail")], ignore_index=True)  # fmt: skip


def _truth(run: SimulationResult) -> pd.DataFrame:
    return pd.read_parquet(run.paths["truth"])


def _attempts(run: SimulationResult, truth: pd.DataFrame) -> pd.DataFrame:
    """Adversary sign-in attempts and connections to the services, per exit."""
    ev = _events(run)
    exits = truth[truth["role"] == "exit"]
    ev = ev[ev["src_ip"].isin(set(exits["ip"])) & (ev["kind"] != "mail")]
    return ev


def test_attempts_per_exit_day(run: SimulationResult) -> None:
    c = run.params.campaigns[0]
    t = _truth(run)
    ex = t[(t["role"] == "exit") & (t["campaign"] == c.name)]
    ev = _attempts(run, t)
    exposure = ((ex["last_active"] - ex["first_active"]) / DAY).sum()
    n = len(ev)
    # successes stop the spraying of an account: a few attempts fewer than the Poisson mean
    rate = n / exposure
    assert 0.8 * c.attempts_per_exit_day <= rate <= 1.1 * c.attempts_per_exit_day, rate
    # the distribution: attempts per exit per full active day is Poisson (zeros included)
    start = pd.Timestamp(run.params.start, tz="UTC")
    day = ((ev["ts"] - start) // DAY).astype(int)
    per = ev.groupby([ev["src_ip"].astype(str), day]).size()
    full = []
    for r in ex.itertuples():
        d0 = int(np.ceil((r.first_active - start) / DAY))
        d1 = int(np.floor((r.last_active - start) / DAY))
        full += [(r.ip, d) for d in range(d0, d1)]
    counts = np.array([per.get(k, 0) for k in full])
    k = len(counts)
    assert k >= 50
    lam = c.attempts_per_exit_day
    p0 = np.exp(-lam)
    # within about three standard errors of a Poisson(lam) sample of size k
    assert abs(counts.mean() - lam) < 3 * np.sqrt(lam / k) + 0.05 * lam
    assert abs((counts == 0).mean() - p0) < 3 * np.sqrt(p0 * (1 - p0) / k) + 0.02
    assert abs(counts.var() / counts.mean() - 1.0) < 3 * np.sqrt(2 / (k - 1)) + 0.1


def test_activity_inside_truth_windows(run: SimulationResult) -> None:
    t = _truth(run).set_index("ip")
    ev = _attempts(run, t.reset_index())
    g = ev.groupby(ev["src_ip"].astype(str))["ts"].agg(["min", "max"])
    w = t.loc[g.index]
    assert (g["min"] >= w["first_active"] - pd.Timedelta(seconds=1)).all()
    assert (g["max"] <= w["last_active"] + pd.Timedelta(seconds=1)).all()


def test_lifetimes(run: SimulationResult) -> None:
    c = run.params.campaigns[0]
    t = _truth(run)
    life = t.loc[(t["role"] == "exit") & (t["kind"] != "vps"), "lifetime_days"].to_numpy()
    cut = np.sqrt(c.lifetime_short_median_days * c.lifetime_long_median_days)
    short, long_ = life[life < cut], life[life >= cut]
    assert len(short) >= 10 and len(long_) >= 3

    def tol(k: int) -> float:  # 3 standard errors of a log-normal sample's log-median
        return 3 * 1.25 * c.lifetime_sigma / np.sqrt(k)

    # (the cut trims the tails of both components a little: allow 10 % on top)
    assert abs(np.log(np.median(short) / c.lifetime_short_median_days)) < tol(len(short)) + 0.1
    assert abs(np.log(np.median(long_) / c.lifetime_long_median_days)) < tol(len(long_)) + 0.1
    # hand-offs: more exits over the window than the concurrent pool
    assert (t["role"] == "exit").sum() > c.active_exits


def test_share_of_exits_in_victim_country(run: SimulationResult) -> None:
    c = run.params.campaigns[0]
    t = _truth(run)
    ex = t[t["role"] == "exit"]
    share = (ex["country"] == run.params.victim_country).mean()
    sd = np.sqrt(c.exit_home_share * (1 - c.exit_home_share) / len(ex))
    assert abs(share - c.exit_home_share) < max(3 * sd, 0.05), share
    # foreign exits: a share in neighbouring countries (worldwide draws may add a few more)
    foreign = ex[ex["country"] != run.params.victim_country]
    near = foreign["country"].isin(NEARBY[run.params.victim_country]).mean()
    sd_n = np.sqrt(c.exit_near_share * (1 - c.exit_near_share) / max(len(foreign), 1))
    assert c.exit_near_share - 3 * sd_n <= near <= c.exit_near_share + 3 * sd_n + 0.15, near


def test_cgnat_sharing(run: SimulationResult) -> None:
    t = _truth(run)
    cg = t[t["kind"] == "mobile_cgnat"]
    ev = _events(run)
    users = ev[ev["src_ip"].isin(set(cg["ip"])) & ev["user"].notna()]
    per_ip = users.groupby(users["src_ip"].astype(str))["user"].nunique()
    expected = np.minimum(cg["users"].astype(float).to_numpy(), run.params.cgnat_users_per_ip)
    # every CGNAT address carries many users; on average near the parameter
    assert per_ip.min() >= 2
    assert 0.5 * expected.mean() <= per_ip.mean() <= 2.0 * expected.mean()
    # and no home broadband address is shared between accounts
    home = t[t["kind"] == "home_broadband"]
    hu = ev[ev["src_ip"].isin(set(home["ip"])) & ev["user"].notna()]
    assert hu.groupby(hu["src_ip"].astype(str))["user"].nunique().max() == 1


def test_dhcp_churn(run: SimulationResult) -> None:
    p = run.params
    t = _truth(run)
    home = t[t["kind"] == "home_broadband"]
    span = (home["last_active"] - home["first_active"]) / DAY
    # addresses of daily-renumbering ISPs live one day: about share * users * (days + 1) of them
    short = int((span <= 1.0001).sum())
    est = short / ((p.days + 1) * p.users)
    assert abs(est - p.home_daily_renumber_share) < 0.06, est
    # the others are stable for weeks (or, in a scenario of a week or so, the whole window)
    assert np.median(span[span > 1.0001]) >= min(7, 0.9 * p.days)
