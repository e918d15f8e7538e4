"""Adversary campaigns behind covert (ORB) networks.

A campaign keeps a pool of exit nodes (compromised SOHO routers and IoT devices, rented VPS,
or both); each node lives for a drawn lifetime and is replaced when it dies (a hand-off).
Operators reach the exits through provisioned relays and traversal nodes
(operator -> relay -> traversal -> exit -> victim). Exits password-spray the organisation
low and slow, and after a success a few exits read the mailbox. The operator's tooling leaks
the same user agent and TLS ClientHello through every exit, while the exits' TCP stacks are
the devices' own. See ``docs/simulator.md`` for the model and its sources.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from attrib.simulate._addresses import AddressPool
from attrib.simulate._frames import frame
from attrib.simulate.org import Org
from attrib.simulate.population import DAY
from attrib.simulate.presets import CampaignParams, SimParams

__all__ = ["NEARBY", "Campaign", "build_campaign", "campaign_day", "rtt_ms"]


@dataclass
class Campaign:
    """A built campaign: its nodes and its targets."""

    params: CampaignParams
    nodes: pd.DataFrame  # ip, role, kind, start, end, lifetime_days, lat, lon, net_type, hop ids
    targets: np.ndarray  # user indices sprayed, in rotation order
    compromised: dict[int, float]  # user -> time from which the password is known
    first_success: dict[int, float]
    mail_exits: dict[int, list[int]]  # user -> exit node ids reading the mailbox
    cursor: int = 0


def _lifetimes(c: CampaignParams, vps: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(vps)
    long_ = rng.random(n) < c.lifetime_long_share
    med = np.where(long_, c.lifetime_long_median_days, c.lifetime_short_median_days)
    med = np.where(vps, c.vps_lifetime_median_days, med)
    return med * np.exp(rng.normal(0.0, c.lifetime_sigma, n))


def _exit_slots(c: CampaignParams, days: int, rng: np.random.Generator) -> pd.DataFrame:
    """Exit nodes over time: each pool slot hands off to a new node when its node dies.

    The network exists before the scenario starts, so the first node of each slot is already
    part-way through its life (stationary ages); nodes are drawn until the window ends.
    """
    rows = []
    end_day = float(days if c.end_day < 0 else min(days, c.end_day))
    for slot in range(c.active_exits):
        t, first = 0.0, True
        while t < end_day:
            vps = c.network == "provisioned" or (
                c.network == "hybrid" and rng.random() < c.hybrid_vps_share
            )
            life = float(_lifetimes(c, np.array([vps]), rng)[0])
            s = t - rng.random() * life if first else t
            rows.append((slot, s, s + life, life, vps))
            t = s + life + rng.exponential(0.5)
            first = False
    df = pd.DataFrame(rows, columns=["slot", "start_d", "end_d", "lifetime_days", "vps"])
    df = df[df["end_d"] > max(c.start_day, 0)].reset_index(drop=True)
    df["end_d"] = np.minimum(df["end_d"], end_day)
    return df


#: Neighbouring countries of common victim countries (foreign exits "near the victim").
NEARBY: dict[str, tuple[str, ...]] = {
    "DE": ("NL", "FR", "AT", "CH", "PL", "CZ", "BE", "DK"),
    "NL": ("DE", "BE", "FR", "GB"), "FR": ("DE", "BE", "ES", "IT", "CH"),
    "GB": ("IE", "NL", "FR", "BE"), "US": ("CA", "MX"), "CA": ("US",),
    "JP": ("KR", "TW"), "KR": ("JP", "TW"), "TW": ("JP", "KR", "PH"),
    "AU": ("NZ",), "IT": ("FR", "AT", "CH", "DE"), "PL": ("DE", "CZ", "LT", "SK"),
}  # fmt: skip


def _draw_exits(
    c: CampaignParams, p: SimParams, ex: pd.DataFrame, pool: AddressPool, rng: np.random.Generator
) -> pd.DataFrame:
    n = len(ex)
    u = rng.random(n)
    near_list = NEARBY.get(p.victim_country, ())
    # where each exit is: the victim's country, a neighbouring one, or anywhere else
    where = np.where(u < c.exit_home_share, p.victim_country, "")
    near = (u >= c.exit_home_share) & (rng.random(n) < c.exit_near_share) & bool(near_list)
    if near_list:
        where[near] = rng.choice(list(near_list), int(near.sum()))
    resid = rng.random(n) < c.exit_residential_share
    ntype = np.where(ex["vps"].to_numpy(), "hosting", np.where(resid, "residential", "business"))
    parts = []
    for nt in pd.unique(ntype):
        for cc in pd.unique(where):
            idx = np.flatnonzero((ntype == nt) & (where == cc))
            if not len(idx):
                continue
            if cc:
                got = pool.draw(len(idx), country=str(cc), net_type=str(nt))
            else:
                got = pool.draw_abroad(len(idx), exclude=p.victim_country, net_type=str(nt))
            parts.append(got.set_index(pd.Index(idx)))
    return pd.concat(parts).sort_index()


def build_campaign(
    c: CampaignParams,
    p: SimParams,
    org: Org,
    pool: AddressPool,
    rng: np.random.Generator,
    t0: float,
) -> Campaign:
    """Build a campaign's nodes, paths and targets.

    Parameters
    ----------
    c
        Campaign parameters.
    p
        Scenario parameters.
    org
        The victim organisation.
    pool
        Address source.
    rng
        Random generator.
    t0
        Scenario start (epoch seconds).

    Returns
    -------
    Campaign
        Nodes (operator, relays, traversal nodes, exits) with active windows and the chain
        each exit hangs from.
    """
    ex = _exit_slots(c, p.days, rng)
    exits = pd.concat([ex.reset_index(drop=True), _draw_exits(c, p, ex, pool, rng)], axis=1)
    exits["role"] = "exit"
    exits["kind"] = np.where(
        exits["vps"],
        "vps",
        np.where(exits["net_type"] == "business", "soho_router_business", "soho_router"),
    )
    exits["stack"] = np.where(exits["vps"], "linux", c.exit_stack)
    t_end = p.days
    trav = pool.draw(c.traversal_nodes, net_type="residential")
    trav = trav.assign(
        role="traversal",
        kind="soho_router",
        stack=c.exit_stack,
        start_d=0.0,
        end_d=float(t_end),
        lifetime_days=np.nan,
        vps=False,
    )
    relays = pd.concat(
        [
            pool.draw(1, country=str(rc), net_type="hosting")
            for rc in rng.choice(list(c.relay_countries), c.relays)
        ],
        ignore_index=True,
    )
    relays = relays.assign(
        role="relay",
        kind="vps",
        stack="linux",
        start_d=0.0,
        end_d=float(t_end),
        lifetime_days=np.nan,
        vps=True,
    )
    op = pool.draw(1, country=c.operator_country).assign(
        role="operator",
        kind="operator",
        stack="linux",
        start_d=0.0,
        end_d=float(t_end),
        lifetime_days=np.nan,
        vps=False,
    )
    nodes = pd.concat([exits.drop(columns=["slot"]), trav, relays, op], ignore_index=True)
    n_ex, n_tr = len(exits), len(trav)
    nodes["up"] = -1
    nodes.loc[: n_ex - 1, "up"] = n_ex + rng.integers(0, n_tr, n_ex)
    nodes.loc[n_ex : n_ex + n_tr - 1, "up"] = n_ex + n_tr + rng.integers(0, len(relays), n_tr)
    nodes.loc[n_ex + n_tr : n_ex + n_tr + len(relays) - 1, "up"] = len(nodes) - 1
    nodes["start"] = t0 + nodes["start_d"].clip(lower=max(c.start_day, 0)) * DAY
    nodes["end"] = t0 + nodes["end_d"].clip(upper=p.days) * DAY
    nodes["lat"] = pd.to_numeric(nodes["lat"], errors="coerce")
    nodes["lon"] = pd.to_numeric(nodes["lon"], errors="coerce")
    mean_active = c.active_exits
    n_targets = int(
        np.clip(
            round(c.attempts_per_exit_day * mean_active / max(c.attempts_per_account_day, 1e-9)),
            1,
            p.users,
        )
    )
    targets = rng.permutation(p.users)[:n_targets]
    k = min(c.compromised_accounts, n_targets)
    c_end = p.days if c.end_day < 0 else min(p.days, c.end_day)
    lo = max(c.start_day, 0) + 1
    when = t0 + (lo + rng.random(k) * max(1.0, (c_end - lo) * 0.5)) * DAY
    comp = {int(u): float(w) for u, w in zip(targets[:k], when, strict=True)}
    return Campaign(
        params=c, nodes=nodes, targets=targets, compromised=comp, first_success={}, mail_exits={}
    )


def rtt_ms(
    lat1: np.ndarray | float,
    lon1: np.ndarray | float,
    lat2: np.ndarray,
    lon2: np.ndarray,
    access_ms: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Round-trip time between places: fibre at ~2/3 c with 1.5x path inflation, plus access.

    Returns
    -------
    numpy.ndarray
        Milliseconds.
    """
    la1, la2 = np.radians(lat1), np.radians(lat2)
    dla, dlo = la2 - la1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dla / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin(dlo / 2) ** 2
    km = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
    out = 2 * km * 1.5 / 200.0 + access_ms
    return np.nan_to_num(np.asarray(out, dtype=float), nan=80.0)


_ACCESS_MS = {"residential": 12.0, "business": 6.0, "hosting": 1.0, "mobile": 35.0}


def _attempt_times(
    c: CampaignParams, s: np.ndarray, e: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    n = len(s)
    u = s + rng.random(n) * (e - s)
    h0, h1 = c.operator_hours
    day0 = np.floor(s / DAY) * DAY
    op = day0 + (rng.uniform(h0, h1, n) - c.operator_utc_offset) * 3600.0
    op = np.where(op < day0, op + DAY, op)
    use = (rng.random(n) < c.operator_hours_share) & (op >= s) & (op < e)
    return np.where(use, op, u)


def campaign_day(
    camp: Campaign, p: SimParams, org: Org, day: int, t0: float, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Spray attempts and mailbox accesses of one campaign on one day.

    Returns
    -------
    (attempts, mail)
        Attempts with exit node, target user, time, channel (``entra``/``owa``/``vpn``),
        outcome; mailbox accesses with exit node, user and time.
    """
    c, nd = camp.params, camp.nodes
    d0, d1 = t0 + day * DAY, t0 + (day + 1) * DAY
    ex = nd[(nd["role"] == "exit") & (nd["start"] < d1) & (nd["end"] > d0)]
    s = np.maximum(ex["start"].to_numpy(), d0)
    e = np.minimum(ex["end"].to_numpy(), d1)
    k = rng.poisson(c.attempts_per_exit_day * (e - s) / DAY)
    node = np.repeat(ex.index.to_numpy(), k)
    ts = _attempt_times(c, np.repeat(s, k), np.repeat(e, k), rng)
    order = np.argsort(ts, kind="stable")
    node, ts = node[order], ts[order]
    n = len(node)
    users = camp.targets[(camp.cursor + np.arange(n)) % len(camp.targets)]
    camp.cursor = (camp.cursor + n) % len(camp.targets)
    err = np.full(n, 50126)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        u = int(users[i])
        if u in camp.first_success:
            keep[i] = False  # the operator stops spraying an account it owns
        elif u in camp.compromised and ts[i] >= camp.compromised[u]:
            err[i] = 0
            camp.first_success[u] = float(ts[i])
            camp.mail_exits[u] = []
    chan = rng.choice(
        ["entra", "owa", "vpn"],
        n,
        p=[c.entra_share, (1 - c.entra_share) * 0.7, (1 - c.entra_share) * 0.3],
    )
    chan[err == 0] = "entra"
    att = frame({"ts": ts, "node": node, "user": users, "error": err, "channel": chan})
    return att[keep].reset_index(drop=True), _mail_day(camp, day, t0, d0, d1, ex, rng)


def _mail_day(
    camp: Campaign,
    day: int,
    t0: float,
    d0: float,
    d1: float,
    ex: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    c = camp.params
    rows = []
    home = ex[ex["country"] == ex["country"].mode().iloc[0]] if len(ex) else ex
    for u, since in camp.first_success.items():
        if since >= d1 or ex.empty:
            continue
        alive = [x for x in camp.mail_exits[u] if x in ex.index]
        while len(alive) < c.mail_access_exits and len(alive) < len(ex):
            cand = (
                home.index.difference(alive)
                if len(home.index.difference(alive))
                else ex.index.difference(alive)
            )
            alive.append(int(rng.choice(cand)))
        camp.mail_exits[u] = alive
        k = rng.poisson(c.mail_access_per_day)
        for _ in range(k):
            x = int(rng.choice(alive))
            lo = max(d0, since + 60.0, float(camp.nodes["start"].to_numpy()[x]))
            hi = min(d1, float(camp.nodes["end"].to_numpy()[x]))
            if hi > lo:
                rows.append((lo + rng.random() * (hi - lo), x, u))
    return pd.DataFrame(rows, columns=["ts", "node", "user"])
