#!/usr/bin/env python
"""Print the simulator's realism figures, measured from its files, for several seeds.

Usage::

    python bench/simulate_realism.py [--preset demo] [--seeds 11 12 13]

For each seed: attempts per exit per day (overall, per full active day: mean, share of zero days
against Poisson, variance/mean), node lifetime medians (short and long component), share of exits
in the victim's country and of foreign exits in neighbouring countries, accounts per CGNAT
address, the share of daily-renumbering home addresses and the median of the stable leases.
The same quantities are asserted (with tolerances) in ``tests/simulate/test_realism.py``.
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
import pandas as pd

import attrib.io as aio
from attrib.simulate import simulate
from attrib.simulate.campaigns import NEARBY

DAY = pd.Timedelta(days=1)


def figures(preset: str, seed: int) -> str:
    """Simulate one scenario and describe what its files show."""
    r = simulate(preset, seed, tempfile.mkdtemp(prefix="attrib-realism-"), compress="none")
    p, c = r.params, r.params.campaigns[0]
    t = pd.read_parquet(r.paths["truth"])
    ex = t[t.role == "exit"]
    ev = pd.concat([aio.read(r.paths["signins"]), aio.read(r.paths["conn"])])
    att = ev[ev.src_ip.isin(set(ex.ip))]
    expo = ((ex.last_active - ex.first_active) / DAY).sum()
    start = pd.Timestamp(p.start, tz="UTC")
    per = att.groupby([att.src_ip.astype(str), ((att.ts - start) // DAY).astype(int)]).size()
    full = [
        (x.ip, d)
        for x in ex.itertuples()
        for d in range(
            int(np.ceil((x.first_active - start) / DAY)),
            int(np.floor((x.last_active - start) / DAY)),
        )
    ]
    cnt = np.array([per.get(k, 0) for k in full])
    life = ex.loc[ex.kind != "vps", "lifetime_days"].to_numpy()
    cut = np.sqrt(c.lifetime_short_median_days * c.lifetime_long_median_days)
    home = (ex.country == p.victim_country).mean()
    foreign = ex[ex.country != p.victim_country]
    near = foreign.country.isin(NEARBY.get(p.victim_country, ())).mean()
    cg = t[t.kind == "mobile_cgnat"]
    allev = pd.concat([ev, aio.read(r.paths["audit"])])
    sel = allev.src_ip.isin(set(cg.ip)) & allev.user.notna()
    cu = allev[sel].groupby("src_ip")["user"].nunique()
    hb = t[t.kind == "home_broadband"]
    span = (hb.last_active - hb.first_active) / DAY
    daily = (span <= 1.0001).sum() / ((p.days + 1) * p.users)
    lam = c.attempts_per_exit_day
    return (
        f"{preset} seed {seed} ({len(ex)} exits):\n"
        f"  attempts per exit-day {len(att) / expo:.2f} (parameter {lam}); per full active day: "
        f"mean {cnt.mean():.2f}, P(0) {np.mean(cnt == 0):.3f} (Poisson {np.exp(-lam):.3f}), "
        f"var/mean {cnt.var() / cnt.mean():.2f}, n={len(cnt)}\n"
        f"  lifetime medians: short {np.median(life[life < cut]):.1f} d "
        f"({c.lifetime_short_median_days}), long {np.median(life[life >= cut]):.1f} d "
        f"({c.lifetime_long_median_days})\n"
        f"  exits in the victim's country {home:.2f} ({c.exit_home_share}); foreign exits in "
        f"neighbouring countries {near:.2f} ({c.exit_near_share})\n"
        f"  accounts per CGNAT address {cu.mean():.1f} ({p.cgnat_users_per_ip}); daily-renumber "
        f"share {daily:.3f} ({p.home_daily_renumber_share}); median stable lease in the window "
        f"{np.median(span[span > 1.0001]):.1f} d"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="demo")
    ap.add_argument("--seeds", type=int, nargs="+", default=[11, 12, 13])
    args = ap.parse_args()
    for seed in args.seeds:
        print(figures(args.preset, seed))


if __name__ == "__main__":
    main()
