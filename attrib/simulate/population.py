"""Benign population and confounders: who signs in and connects from where.

Users work from offices, from home broadband (with DHCP churn: a share of ISPs renumber every
24 h, the rest keep an address for weeks), from mobile phones behind carrier-grade NAT (many
users per address), through corporate VPN concentrators in cloud networks, commercial VPN
exits and iCloud Private Relay, and while travelling abroad. Admins reach the SSH bastion
through a jump host. Internet-wide scanners probe the public services, and commodity password
sprayers (hosting bursts and residential-proxy drip) try guessed and real accounts. See
``docs/simulator.md`` for the model and the sources of each default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from attrib.simulate._addresses import AddressPool
from attrib.simulate._frames import frame
from attrib.simulate._frames import truth_frame as _truth
from attrib.simulate.org import Org
from attrib.simulate.presets import SimParams

__all__ = [
    "DAY",
    "SPRAY_TOOLS",
    "Population",
    "benign_day",
    "build_population",
    "day_offset_h",
    "scanners_day",
    "sprayers_day",
]

DAY = 86400.0
#: ASNs whose space is iCloud Private Relay egress (Akamai's relay network) and commercial VPN
#: hosting (M247, Datacamp/CDN77), used by AS number only.
PRIVATE_RELAY_ASN = 36183
COMMERCIAL_VPN_ASNS = (9009, 60068)
#: Commodity password-spray tooling: (User-Agent, TLS ClientHello profile, Entra client app).
#: Legacy-protocol and scripted clients, as seen in tenants' failed sign-ins.
SPRAY_TOOLS: tuple[tuple[str, str, str], ...] = (
    ("BAV2ROPC", "python_requests", "Other clients"),
    ("python-requests/2.32.3", "python_requests", "Other clients"),
    ("Go-http-client/1.1", "go_tls", "Other clients"),
    ("Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.4266; Pro)", "go_tls",
     "Mobile Apps and Desktop clients"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36", "python_requests", "Browser"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0", "go_tls",
     "Browser"),
)  # fmt: skip
CLOUD_ASNS = (8075, 16509)


@dataclass
class Population:
    """Static state of the benign population."""

    desktop: np.ndarray
    mobile: np.ndarray
    has_mobile: np.ndarray
    carrier: np.ndarray
    mode: np.ndarray  # home | corp_vpn | commercial_vpn
    relay_user: np.ndarray
    office_of: np.ndarray
    lease_key: np.ndarray
    lease_ip: np.ndarray
    cgnat: list[np.ndarray]
    corp_ips: np.ndarray
    comvpn_ips: np.ndarray
    relay_ips: np.ndarray
    trip_user: np.ndarray
    trip_start: np.ndarray
    trip_end: np.ndarray
    trip_ip: np.ndarray
    trip_key: np.ndarray
    admins: np.ndarray
    jump_ip: str
    scanner_ips: np.ndarray
    sprayers: pd.DataFrame
    addresses: list[pd.DataFrame] = field(default_factory=list)
    truth: list[pd.DataFrame] = field(default_factory=list)


def day_offset_h(tz: str, t0: float, day: int) -> float:
    """UTC offset (hours) of ``tz`` at noon of scenario day ``day``."""
    ts = pd.Timestamp(t0 + day * DAY + 43200, unit="s", tz="UTC").tz_convert(ZoneInfo(tz))
    off = ts.utcoffset()
    return off.total_seconds() / 3600 if off is not None else 0.0


def _home_leases(
    p: SimParams, pool: AddressPool, rng: np.random.Generator, t0: float, pop: dict[str, object]
) -> None:
    n, t1 = p.users, t0 + p.days * DAY
    # a national market of a few ISPs: sample them from the country's residential space
    probe = pool.draw(max(40, 4 * p.home_isps), country=p.victim_country, net_type="residential")
    counts = probe["asn"].dropna().astype(int).value_counts().iloc[: p.home_isps]
    isps = counts.index.to_numpy()
    isp_of_user = rng.choice(len(isps), n, p=(counts / counts.sum()).to_numpy())
    daily = rng.random(n) < p.home_daily_renumber_share
    users, starts = [], []
    for u in range(n):
        if daily[u]:
            s = t0 - rng.random() * DAY + np.arange(0, p.days + 1) * DAY
        else:
            # enough leases to cover the window even when leases last hours
            k = max(4, p.days // 10 + 4, int(np.ceil(2.5 * p.days / p.home_lease_mean_days)) + 4)
            gaps = rng.exponential(p.home_lease_mean_days * DAY, size=k)
            s = t0 - rng.random() * gaps[0] + np.concatenate(([0.0], np.cumsum(gaps[:-1])))
        s = s[s < t1]
        users.append(np.full(len(s), u))
        starts.append(s)
    lu, ls = np.concatenate(users), np.concatenate(starts)
    ips = np.empty(len(lu), dtype=object)
    # one draw over the market's ISPs; each user keeps one ISP across renumberings
    got = pool.draw(
        int(len(lu) * 1.25) + 8 * len(isps), country=p.victim_country, asn=[int(a) for a in isps]
    )
    frames = [got]
    buckets = {int(a): list(g["ip"]) for a, g in got.groupby(got["asn"].astype("Int64"))}
    spare = [ip for a, g in buckets.items() if a not in set(isps.tolist()) for ip in g]
    need = np.bincount(lu, minlength=n)
    firsts = np.searchsorted(lu, np.arange(n))
    for u in range(n):
        pref = int(isps[isp_of_user[u]])
        src = buckets.get(pref, [])
        if len(src) < need[u]:
            src = max(buckets.values(), key=len)
        if len(src) < need[u]:
            src = spare + [ip for b in buckets.values() for ip in b]
        take, rest = src[: need[u]], src[need[u] :]
        src[:] = rest
        ips[firsts[u] : firsts[u] + need[u]] = take
    ends = np.r_[ls[1:], t1]
    ends[np.r_[lu[1:] != lu[:-1], True]] = t1
    order = np.lexsort((ls, lu))
    pop["lease_key"] = (lu[order].astype(np.int64) << 34) + np.maximum(ls[order], 0).astype(
        np.int64
    )
    pop["lease_ip"] = ips[order]
    kinds = np.where(daily[lu], "home_broadband_daily", "home_broadband")
    pop["truth"].append(  # type: ignore[attr-defined]
        _truth(ips, "home_broadband", "benign", np.maximum(ls, t0), ends, subkind=kinds, users=1)
    )
    pop["addresses"].extend(frames)  # type: ignore[attr-defined]


def build_population(
    p: SimParams, org: Org, pool: AddressPool, rng: np.random.Generator, t0: float
) -> Population:
    """Draw the benign population's devices, addresses and confounders.

    Parameters
    ----------
    p
        Scenario parameters.
    org
        The organisation.
    pool
        Address source.
    rng
        Random generator.
    t0
        Scenario start (epoch seconds).

    Returns
    -------
    Population
        Static state used by :func:`benign_day` and :func:`scanners_day`.
    """
    n, t1 = p.users, t0 + p.days * DAY
    st: dict[str, object] = {"truth": [], "addresses": []}
    _home_leases(p, pool, rng, t0, st)
    truth: list[pd.DataFrame] = st["truth"]  # type: ignore[assignment]
    addrs: list[pd.DataFrame] = st["addresses"]  # type: ignore[assignment]
    desktop = rng.choice(["win_chrome", "win_edge", "mac_safari"], n, p=[0.5, 0.3, 0.2])
    mobile = rng.choice(["ios_safari", "android_chrome"], n, p=[0.55, 0.45])
    has_mobile = rng.random(n) < p.mobile_share
    carrier = rng.integers(0, max(p.mobile_carriers, 1), n)
    u = rng.random(n)
    mode = np.where(
        u < p.corp_vpn_share,
        "corp_vpn",
        np.where(u < p.corp_vpn_share + p.commercial_vpn_share, "commercial_vpn", "home"),
    )
    relay_user = (
        (mobile == "ios_safari") & has_mobile & (rng.random(n) < p.private_relay_share / 0.55)
    )
    # carrier-grade NAT pools: daily active mobile users of a carrier / users per address
    # (fixed-line operators run CGNAT too: ``cgnat_net_type="residential"``)
    carriers = pool.draw(
        max(p.mobile_carriers, 1), country=p.victim_country, net_type=p.cgnat_net_type
    )
    addrs.append(carriers)
    sizes = []
    for c in range(len(carriers)):
        users_c = int(np.sum(has_mobile & (carrier == c) & ~relay_user))
        sizes.append((users_c, max(1, int(round(users_c * 0.75 / max(p.cgnat_users_per_ip, 1.0))))))
    asns = [int(a) for a in carriers["asn"].dropna()]
    got = pool.draw(sum(k for _, k in sizes) * 3 + 6, country=p.victim_country, asn=asns or None)
    addrs.append(got)
    by_asn = {int(a): g["ip"].to_numpy() for a, g in got.groupby(got["asn"].astype("Int64"))}
    flat = got["ip"].to_numpy()
    cgnat: list[np.ndarray] = []
    taken: set[str] = set()
    for c, (users_c, k) in enumerate(sizes):
        a = carriers["asn"].iloc[c]
        own = by_asn.get(int(a), flat) if pd.notna(a) else flat
        free = [x for x in own if x not in taken] or [x for x in flat if x not in taken]
        ips_c = np.array(free[:k], dtype=object)
        taken.update(ips_c.tolist())
        cgnat.append(ips_c)
        truth.append(_truth(ips_c, "mobile_cgnat", "benign", t0, t1, users=users_c))
    corp = pool.draw(
        p.corp_vpn_ips,
        net_type="hosting",
        asn=int(rng.choice(CLOUD_ASNS)),
        country=p.victim_country,
    )
    comvpn = pool.draw(
        max(4, int(n * p.commercial_vpn_share * 3)),
        net_type="hosting",
        asn=int(rng.choice(COMMERCIAL_VPN_ASNS)),
    )
    # Private Relay egress: the relay operator's space, keeping addresses that enrichment tags
    # private_relay (Apple's published egress ranges) first
    relay = pool.draw(3 * p.private_relay_ips, asn=PRIVATE_RELAY_ASN, country=p.victim_country)
    tagged = relay["tags"].fillna("").astype(str).str.contains("private_relay")
    relay = pd.concat([relay[tagged], relay[~tagged]]).iloc[: p.private_relay_ips]
    relay = relay.reset_index(drop=True)
    addrs += [corp, comvpn, relay]
    truth += [
        _truth(
            corp["ip"], "corporate_vpn", "confounder", t0, t1, users=int((mode == "corp_vpn").sum())
        ),
        _truth(comvpn["ip"], "commercial_vpn", "confounder", t0, t1),
        _truth(relay["ip"], "private_relay", "confounder", t0, t1, users=int(relay_user.sum())),
    ]
    # trips abroad: a Poisson process per user; hotel / visited-office networks abroad
    n_trips = rng.poisson(p.traveller_trip_rate * n * p.days)
    tu = rng.integers(0, n, n_trips)
    ts = t0 + rng.random(n_trips) * p.days * DAY
    te = ts + np.maximum(1.0, rng.exponential(p.traveller_trip_days, n_trips)) * DAY
    trips = pool.draw_abroad(n_trips, exclude=p.victim_country, net_type="business")
    tips = trips["ip"].to_numpy()
    addrs.append(trips)
    truth.append(_truth(tips, "traveller", "confounder", ts, np.minimum(te, t1)))
    jump = pool.draw(1, net_type="hosting", country=p.victim_country)
    admins = rng.choice(n, size=min(p.admins, n), replace=False)
    addrs.append(jump)
    truth.append(_truth(jump["ip"], "jump_host", "confounder", t0, t1, users=len(admins)))
    truth.append(_truth(org.offices["ip"], "office", "benign", t0, t1))
    addrs.append(org.offices)
    scan = _scanners(p, pool, rng, t0, truth, addrs)
    spray = _sprayers(p, pool, rng, t0, truth, addrs)
    o = np.lexsort((ts, tu))
    return Population(
        desktop=desktop,
        mobile=mobile,
        has_mobile=has_mobile,
        carrier=carrier,
        mode=mode,
        relay_user=relay_user,
        office_of=rng.integers(0, len(org.offices), n),
        lease_key=np.asarray(st["lease_key"]),
        lease_ip=np.asarray(st["lease_ip"]),
        cgnat=cgnat,
        corp_ips=corp["ip"].to_numpy(),
        comvpn_ips=comvpn["ip"].to_numpy(),
        relay_ips=relay["ip"].to_numpy(),
        trip_user=tu[o],
        trip_start=ts[o],
        trip_end=te[o],
        trip_ip=tips[o],
        trip_key=(tu[o].astype(np.int64) << 34) + ts[o].astype(np.int64),
        admins=admins,
        jump_ip=str(jump["ip"].iloc[0]),
        scanner_ips=scan,
        sprayers=spray,
        addresses=addrs,
        truth=truth,
    )


def _scanners(
    p: SimParams,
    pool: AddressPool,
    rng: np.random.Generator,
    t0: float,
    truth: list[pd.DataFrame],
    addrs: list[pd.DataFrame],
) -> np.ndarray:
    """Scanner addresses per day: a persistent share plus fresh ones each day."""
    persist = int(p.scanners_per_day * p.scanner_persist_share)
    fresh = p.scanners_per_day - persist
    total = persist + fresh * p.days
    got = pool.draw(total, net_type="hosting")
    addrs.append(got)
    ips = got["ip"].to_numpy()
    day = np.r_[np.full(persist, -1), np.repeat(np.arange(p.days), fresh)]
    start = np.where(day < 0, t0, t0 + np.maximum(day, 0) * DAY)
    end = np.where(day < 0, t0 + p.days * DAY, start + DAY)
    truth.append(_truth(ips, "scanner", "confounder", start, end))
    return np.stack([ips, day.astype(object)], axis=1)


def _sprayers(
    p: SimParams,
    pool: AddressPool,
    rng: np.random.Generator,
    t0: float,
    truth: list[pd.DataFrame],
    addrs: list[pd.DataFrame],
) -> pd.DataFrame:
    """Commodity password sprayers, a fresh set of addresses each day.

    Two styles: *bursts* from hosting networks worldwide (tens of attempts within hours,
    also against the VPN gateway and OWA), and *drip* through residential proxy networks
    (a few attempts per address, a share of them geo-targeted to the victim's country).
    """
    total = max(p.spray_ips_per_day, 0) * p.days
    if total == 0:
        return frame({"ip": [], "day": [], "burst": [], "tool": []})
    burst = rng.random(total) < p.spray_burst_share
    n_b = int(burst.sum())
    local = ~burst & (rng.random(total) < p.spray_local_share)
    n_l = int(local.sum())
    n_w = total - n_b - n_l
    got_b = pool.draw(n_b, net_type="hosting")
    got_l = pool.draw(n_l, country=p.victim_country, net_type="residential")
    got_w = pool.draw_abroad(n_w, exclude=p.victim_country, net_type="residential")
    addrs += [got_b, got_l, got_w]
    ips = np.empty(total, dtype=object)
    ips[burst] = got_b["ip"].to_numpy()
    ips[local] = got_l["ip"].to_numpy()
    ips[~burst & ~local] = got_w["ip"].to_numpy()
    day = rng.permutation(np.repeat(np.arange(p.days), max(p.spray_ips_per_day, 0)))
    tool = rng.integers(0, len(SPRAY_TOOLS), total)
    _recurring_drips(rng, p.spray_return_share, ips, day, tool, ~burst)
    start = t0 + day * DAY
    truth.append(_truth(ips, "commodity_spray", "confounder", start, start + DAY))
    return frame({"ip": ips, "day": day, "burst": burst, "tool": tool})


def _recurring_drips(
    rng: np.random.Generator,
    share: float,
    ips: np.ndarray,
    day: np.ndarray,
    tool: np.ndarray,
    drip: np.ndarray,
) -> None:
    """Residential-proxy addresses that come back: a share of drips reuse an earlier one.

    Proxy pools hand the same exit to a spraying tool again on later days, so commodity
    spraying also produces addresses seen on several days, with the same tool (in place).
    """
    idx = np.flatnonzero(drip)
    if share <= 0 or len(idx) < 2:
        return
    idx = idx[np.argsort(day[idx], kind="stable")]
    first_of_day = np.searchsorted(day[idx], day[idx], side="left")
    back = rng.random(len(idx)) < share
    pick = rng.random(len(idx))
    for pos in np.flatnonzero(back & (first_of_day > 0)):
        src = idx[int(pick[pos] * first_of_day[pos])]
        ips[idx[pos]], tool[idx[pos]] = ips[src], tool[src]


def sprayers_day(
    pop: Population, p: SimParams, day: int, t0: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Attempts by commodity password sprayers on ``day``.

    Returns
    -------
    pandas.DataFrame
        ``ts``, ``ip``, ``user`` (an index into the organisation's users, or ``-1 - k`` for
        the k-th guessed account that does not exist), ``error`` (50126 wrong password, 50053
        locked by smart lockout, 50034 no such account), ``channel`` (``entra``/``owa``/``vpn``)
        and ``tool`` (index into :data:`SPRAY_TOOLS`).
    """
    sp = pop.sprayers
    today = sp[sp["day"].to_numpy() == day]
    if today.empty:
        return frame({"ts": [], "ip": [], "user": [], "error": [], "channel": [], "tool": []})
    burst = today["burst"].to_numpy(dtype=bool)
    k = np.where(
        burst,
        rng.poisson(p.spray_burst_attempts, len(today)),
        1 + rng.poisson(max(p.spray_proxy_attempts - 1.0, 0.0), len(today)),
    )
    rows = np.repeat(np.arange(len(today)), k)
    n = len(rows)
    b = burst[rows]
    centre = t0 + day * DAY + rng.random(len(today)) * DAY
    spread = np.where(burst, 3600.0 * rng.uniform(0.3, 3.0, len(today)), DAY)
    off = np.where(b, rng.random(n) * spread[rows], rng.random(n) * DAY)
    ts = np.where(b, centre[rows] + off, t0 + day * DAY + off)
    valid = rng.random(n) < p.spray_valid_account_share
    user = np.where(valid, rng.integers(0, p.users, n), -1 - rng.integers(0, 5000, n))
    error = np.where(valid, np.where(rng.random(n) < 0.08, 50053, 50126), 50034)
    chan = np.where(
        b, rng.choice(np.array(["entra", "owa", "vpn"]), n, p=[0.6, 0.25, 0.15]), "entra"
    )
    chan = np.where(valid, chan, "entra")  # guessed names only at Entra
    out = frame(
        {
            "ts": ts,
            "ip": today["ip"].to_numpy()[rows],
            "user": user,
            "error": error,
            "channel": chan,
            "tool": today["tool"].to_numpy(dtype=int)[rows],
        }
    )
    return out.sort_values("ts", kind="stable").reset_index(drop=True)


def _home_ip(pop: Population, users: np.ndarray, ts: np.ndarray) -> np.ndarray:
    key = (users.astype(np.int64) << 34) + ts.astype(np.int64)
    i = np.searchsorted(pop.lease_key, key, side="right") - 1
    return pop.lease_ip[np.maximum(i, 0)]


def source_ips(
    pop: Population, p: SimParams, users: np.ndarray, ts: np.ndarray, on_mobile: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Client address and its kind for remote events of ``users`` at times ``ts``."""
    ip = _home_ip(pop, users, ts)
    kind = np.full(len(users), "home_broadband", dtype=object)
    mob = on_mobile & pop.has_mobile[users]
    sess = ((ts + users * 977.0) // (p.cgnat_session_hours * 3600)).astype(np.int64)
    h = (users.astype(np.int64) * 2654435761 + sess * 40503) & 0x7FFFFFFF
    for c, ips in enumerate(pop.cgnat):
        sel = mob & (pop.carrier[users] == c)
        ip[sel] = ips[h[sel] % len(ips)]
        kind[sel] = "mobile_cgnat"
    rel = mob & pop.relay_user[users]
    ip[rel] = pop.relay_ips[(h[rel] // 7) % len(pop.relay_ips)]
    kind[rel] = "private_relay"
    m = pop.mode[users]
    corp = (m == "corp_vpn") & ~mob
    ip[corp] = pop.corp_ips[users[corp] % len(pop.corp_ips)]
    kind[corp] = "corporate_vpn"
    com = (m == "commercial_vpn") & ~mob
    ip[com] = pop.comvpn_ips[(h[com] // 3) % len(pop.comvpn_ips)]
    kind[com] = "commercial_vpn"
    if len(pop.trip_user):
        # latest trip of the user starting before ts (trips sorted by user, start)
        key = (users.astype(np.int64) << 34) + ts.astype(np.int64)
        j = np.searchsorted(pop.trip_key, key, side="right") - 1
        jj = np.maximum(j, 0)
        on = (j >= 0) & (pop.trip_user[jj] == users) & (ts < pop.trip_end[jj]) & ~mob
        ip[on] = pop.trip_ip[jj[on]]
        kind[on] = "traveller"
    return ip, kind


def _local_times(
    rng: np.random.Generator, n: int, p: SimParams, t_day: float, off: float
) -> np.ndarray:
    h0, h1 = p.work_hours
    hours = rng.normal((h0 + h1) / 2, (h1 - h0) / 4, n)
    hours = np.clip(hours, 0.0, 23.99)
    return t_day + (hours - off) * 3600.0


def benign_day(
    pop: Population, p: SimParams, org: Org, day: int, t0: float, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Generate one day of benign activity.

    Returns
    -------
    (conns, signins, mail)
        Connections to the public services, identity-provider sign-ins, mailbox accesses.
    """
    t_day = t0 + day * DAY
    off = day_offset_h(org.timezone, t0, day)
    weekday = pd.Timestamp(t_day, unit="s").day_of_week < 5
    active = rng.random(p.users) < (1.0 if weekday else p.weekend_activity)
    at_office = active & weekday & (rng.random(p.users) < p.office_share)
    users = np.flatnonzero(active)
    # sign-ins
    k = rng.poisson(p.signins_per_user_day, len(users))
    su = np.repeat(users, k)
    st = _local_times(rng, len(su), p, t_day, off)
    office = at_office[su]
    mob = rng.random(len(su)) < p.mobile_signin_share
    ip, kind = source_ips(pop, p, su, st, mob & ~office)
    ip[office] = org.offices["ip"].to_numpy()[pop.office_of[su[office]]]
    kind[office] = "office"
    dev = np.where(mob & pop.has_mobile[su] & ~office, pop.mobile[su], pop.desktop[su])
    signins = frame({"ts": st, "user": su, "ip": ip, "kind": kind, "device": dev})
    # conns to the public services from remote users (VPN gateway sessions, OWA / ActiveSync)
    remote = np.flatnonzero(active & ~at_office)
    nv = rng.poisson(p.vpn_sessions_per_remote_day, len(remote))
    no = rng.poisson(p.owa_conns_per_remote_day, len(remote))
    cu = np.r_[np.repeat(remote, nv), np.repeat(remote, no)]
    svc = np.r_[np.full(nv.sum(), "vpn"), np.full(no.sum(), "owa")]
    ct = _local_times(rng, len(cu), p, t_day, off)
    cmob = (svc == "owa") & (rng.random(len(cu)) < p.mobile_signin_share)
    cip, ckind = source_ips(pop, p, cu, ct, cmob)
    cdev = np.where(cmob & pop.has_mobile[cu], pop.mobile[cu], pop.desktop[cu])
    conns = frame({"ts": ct, "user": cu, "ip": cip, "kind": ckind, "service": svc, "device": cdev})
    conns = pd.concat([conns, _admin_ssh(pop, p, rng, t_day, off)], ignore_index=True)
    # mailbox sync from clients (Outlook / OWA): one record per sign-in session
    mail = signins.loc[rng.random(len(signins)) < 0.5, ["ts", "user", "ip", "device"]].copy()
    mail["ts"] = mail["ts"] + rng.exponential(600.0, len(mail))
    return conns, signins, mail.reset_index(drop=True)


def _admin_ssh(
    pop: Population, p: SimParams, rng: np.random.Generator, t_day: float, off: float
) -> pd.DataFrame:
    n = rng.poisson(p.admin_ssh_per_day * len(pop.admins))
    return frame(
        {
            "ts": _local_times(rng, n, p, t_day, off),
            "user": rng.choice(pop.admins, n) if len(pop.admins) else np.zeros(n, dtype=int),
            "ip": pop.jump_ip,
            "kind": "jump_host",
            "service": "ssh",
            "device": "linux_ssh",
        }
    )


def scanners_day(
    pop: Population, p: SimParams, day: int, t0: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Probes by internet-wide scanners against the public services on ``day``."""
    ips, days = pop.scanner_ips[:, 0], pop.scanner_ips[:, 1].astype(int)
    today = ips[(days < 0) | (days == day)]
    k = rng.poisson(p.scanner_probes, len(today))
    src = np.repeat(today, k)
    return frame({"ts": t0 + day * DAY + rng.random(len(src)) * DAY, "ip": src, "kind": "scanner"})
