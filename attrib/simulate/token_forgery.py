"""The ``token_forgery`` preset: mailbox access with forged or stolen tokens, and its confounders.

Modelled on Storm-0558 (CISA AA23-193A): the actor reads a few targeted mailboxes with tokens
it forged (or stole), so the Microsoft 365 audit log shows ``MailItemsAccessed`` records that
**no sign-in explains**: no authentication of the account from those networks, session ids no
sign-in issued (forged) or the victim's session replayed from the actor's exits (stolen),
an application the tenant does not use for mail, in the operators' working day. Exits are a
small set of rented VPS and residential proxies; there are no sign-in attempts at all.

The benign tenant signs in (interactive sign-in, then token refreshes as non-interactive
sign-ins in the same session) and reads mail in that session from office or home. Confounders,
each an origin kind in the truth tables:

* ``client_rollout`` — a new mail client rolled out to most users mid-scenario (an app id the
  tenant had not used, from the users' own networks, with sign-ins);
* ``crm_connector`` — a CRM connector's service principal reading many mailboxes from cloud
  addresses every hour (a rare app, but it signs in from the same addresses);
* ``mobile_cgnat`` — Outlook mobile refreshing tokens and syncing mail across a carrier's NAT
  pool (access and sign-ins from different addresses of one ASN, one long session);
* ``back_from_leave`` — users absent for most of the scenario who return from a new home
  address (a first-seen origin reading their mailbox, after an interactive sign-in).

Rates are the :class:`~attrib.simulate.presets.SimParams` fields (users, days, office and
mobile shares, weekend activity) and the campaign's :class:`CampaignParams` (``active_exits``,
``hybrid_vps_share`` = VPS share of exits, ``exit_home_share``, ``compromised_accounts`` =
targeted mailboxes, ``mail_access_per_day`` per mailbox, ``start_day``/``end_day``,
``operator_utc_offset``/``operator_hours``). The confounder constants below are documented in
``docs/simulator.md``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from attrib.simulate._addresses import AddressPool, Sampler
from attrib.simulate._identity_writer import _uuids
from attrib.simulate._outfile import open_out
from attrib.simulate._token_records import mail_record, signin_record, token_id
from attrib.simulate.org import build_org, write_org_toml
from attrib.simulate.presets import CampaignParams, SimParams
from attrib.simulate.truth import build_truth, write_chains, write_truth

__all__ = ["NETWORK", "TOKEN_APPS", "run_token_forgery"]

logger = logging.getLogger(__name__)

#: ``CampaignParams.network`` value that selects this scenario generator.
NETWORK = "forged_tokens"
DAY = 86_400.0
#: name -> (app id, display name, ClientInfoString). Ids are Microsoft's first-party clients.
TOKEN_APPS: dict[str, tuple[str, str, str]] = {
    "outlook_desktop": ("d3590ed6-52b3-4102-aeff-aad2292ab01c", "Microsoft Office",
                        "Client=MSExchangeRPC"),
    "new_outlook": ("5d661950-3475-41cd-a2c3-d671a3162bc1", "Microsoft Outlook",
                    "Client=REST;Client=RESTSystem;;"),
    "outlook_mobile": ("27922004-5251-4030-b22d-91ecd9a37ea4", "Outlook Mobile",
                       "Client=OutlookService;Outlook-Android/2.0;"),
}  # fmt: skip
#: The new client reaches this share of users on day ``days * ROLLOUT_AT``.
ROLLOUT_SHARE, ROLLOUT_AT = 0.7, 0.5
#: CRM connector: addresses, mailboxes it serves, mailboxes read per hour, hours (UTC).
CRM_IPS, CRM_MAILBOXES, CRM_PER_HOUR, CRM_HOURS = 2, 60, 8, (6, 22)
#: Users on leave until ``days * LEAVE_UNTIL``.
LEAVE_SHARE, LEAVE_UNTIL = 0.05, 0.6
#: Mobile carriers and NAT addresses per carrier.
CARRIERS, CARRIER_IPS = 3, 12
#: Share of the actor's sessions that replay a victim's real session (stolen, not forged).
STOLEN_SHARE = 0.3
_UA_DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Microsoft Outlook 16.0"
_UA_MOBILE = "Outlook-Android/2.0"


def _local_day(tz: str, t0: float, day: int) -> tuple[float, bool]:
    """UTC epoch of local midnight of scenario day ``day`` and whether it is a weekend."""
    ts = pd.Timestamp(t0 + day * DAY + 43_200, unit="s", tz="UTC").tz_convert(ZoneInfo(tz))
    mid = ts.normalize()
    return mid.timestamp(), ts.day_of_week >= 5


class _Out:
    """Collect sign-in and mail rows (dicts) and every address's use."""

    def __init__(self) -> None:
        self.signins: list[dict[str, Any]] = []
        self.mail: list[dict[str, Any]] = []

    def signin(self, **kw: Any) -> None:
        self.signins.append(kw)

    def access(self, **kw: Any) -> None:
        self.mail.append(kw)


def _benign(p: SimParams, users: list[dict[str, Any]], org: Any, t0: float,
            rng: np.random.Generator, out: _Out, rollout_day: int) -> None:  # fmt: skip
    w0, w1 = org.work_hours
    office_ips = org.offices["ip"].tolist()
    for day in range(p.days):
        mid, weekend = _local_day(org.timezone, t0, day)
        for u in users:
            if day < u["back_day"]:
                continue
            if u["mobile"]:
                _mobile_day(u, mid, rng, out)
            if weekend and rng.random() > p.weekend_activity:
                continue
            home = u["home_after"] if day >= u["back_day"] > 0 else u["home"]
            at_office = rng.random() < p.office_share
            ip = office_ips[int(rng.integers(len(office_ips)))] if at_office else home
            app = "new_outlook" if u["rollout"] and day >= rollout_day else "outlook_desktop"
            start = mid + 3600 * (w0 + rng.normal(0.5, 0.6))
            end = mid + 3600 * (w1 - 1 + rng.normal(0.5, 0.8))
            session = _uuids(rng, 1)[0]
            u["sessions"][day] = session
            t = start
            kind = "interactive"
            while t < end:
                out.signin(ts=t, user=u, ip=ip, kind=kind, app=app, session=session)
                kind = "non_interactive"
                t += rng.uniform(2400, 5400)
            for ts in np.sort(rng.uniform(start + 60, end, rng.poisson(6))):
                out.access(
                    ts=float(ts),
                    user=u,
                    mailbox=u["upn"],
                    ip=ip,
                    app=app,
                    session=session,
                    access="Bind",
                    items=int(rng.integers(1, 9)),
                )


def _mobile_day(u: dict[str, Any], mid: float, rng: np.random.Generator, out: _Out) -> None:
    pool = u["carrier"]
    t = mid + 3600 * rng.uniform(6.5, 8.5)
    while t < mid + 3600 * 22:
        out.signin(ts=t, user=u, ip=pool[int(rng.integers(len(pool)))], kind="non_interactive",
                   app="outlook_mobile", session=u["mobile_session"])  # fmt: skip
        t += rng.uniform(3600, 3 * 3600)
    for ts in rng.uniform(mid + 3600 * 7, mid + 3600 * 22, rng.poisson(4)):
        sync = rng.random() < 0.4
        out.access(
            ts=float(ts),
            user=u,
            mailbox=u["upn"],
            ip=pool[int(rng.integers(len(pool)))],
            app="outlook_mobile",
            session=u["mobile_session"],
            access="Sync" if sync else "Bind",
            items=int(rng.integers(20, 120)) if sync else int(rng.integers(1, 6)),
        )


def _crm(p: SimParams, users: list[dict[str, Any]], ips: list[str], t0: float,
         rng: np.random.Generator, out: _Out) -> dict[str, Any]:  # fmt: skip
    sp = {"upn": "Contoso CRM Connector", "user_id": _uuids(rng, 1)[0], "crm": True}
    app_id = _uuids(rng, 1)[0]
    served = [users[i] for i in rng.choice(len(users), min(CRM_MAILBOXES, len(users)), False)]
    for day in range(p.days):
        for hour in range(*CRM_HOURS):
            t = t0 + day * DAY + hour * 3600 + rng.uniform(0, 300)
            ip = ips[int(rng.integers(len(ips)))]
            out.signin(ts=t, user=sp, ip=ip, kind="service_principal", app=("crm", app_id),
                       session=None)  # fmt: skip
            for k in rng.choice(len(served), CRM_PER_HOUR, replace=False):
                out.access(ts=t + rng.uniform(5, 600), user=sp, mailbox=served[k]["upn"], ip=ip,
                           app=("crm", app_id), session=None, access="Bind",
                           items=int(rng.integers(1, 15)))  # fmt: skip
    return sp


def _exits(c: CampaignParams, p: SimParams, pool: AddressPool) -> pd.DataFrame:
    n_vps = int(round(c.active_exits * c.hybrid_vps_share))
    n_res = c.active_exits - n_vps
    n_home = int(round(n_res * c.exit_home_share))
    parts = [
        pool.draw_abroad(n_vps, exclude=p.victim_country, net_type="hosting").assign(kind="vps"),
        pool.draw(n_home, country=p.victim_country, net_type="residential").assign(
            kind="residential_proxy"
        ),
        pool.draw_abroad(n_res - n_home, exclude=p.victim_country, net_type="residential").assign(
            kind="residential_proxy"
        ),
    ]
    return pd.concat([x for x in parts if len(x)], ignore_index=True)


def _campaign(c: CampaignParams, p: SimParams, exits: pd.DataFrame, users: list[dict[str, Any]],
              out: _Out, t0: float, rng: np.random.Generator) -> list[dict[str, Any]]:  # fmt: skip
    end = p.days if c.end_day < 0 else min(c.end_day, p.days)
    cands = [u for u in users if u["back_day"] == 0 and not u.get("crm")]
    targets = [cands[i] for i in rng.choice(len(cands), c.compromised_accounts, replace=False)]
    app_id = _uuids(rng, 1)[0]  # an application no one in the tenant uses
    n = len(exits)
    life = rng.uniform(3, 8, n)
    first = rng.uniform(c.start_day, max(c.start_day + 0.1, end - 2), n)
    h0 = c.operator_hours[0] - c.operator_utc_offset
    h1 = c.operator_hours[1] - c.operator_utc_offset
    for day in range(c.start_day, end):
        live = np.flatnonzero((first <= day + 1) & (first + life >= day))
        if not len(live):
            live = np.array([int(rng.integers(n))])
        for u in targets:
            k = rng.poisson(c.mail_access_per_day)
            if not k:
                continue
            real = [u["sessions"][d] for d in sorted(u["sessions"]) if d <= day]
            stolen = bool(real) and rng.random() < STOLEN_SHARE
            session = real[-1] if stolen else _uuids(rng, 1)[0]
            for ts in np.sort(t0 + day * DAY + 3600 * rng.uniform(h0, h1, k)):
                sync = rng.random() < 0.25
                ex = exits.iloc[int(live[int(rng.integers(len(live)))])]
                out.access(ts=float(ts), user=u, mailbox=u["upn"], ip=str(ex["ip"]),
                           app=("forged", app_id), session=session,
                           access="Sync" if sync else "Bind",
                           items=int(rng.integers(50, 300)) if sync else int(rng.integers(5, 30)),
                           adversary=c.name)  # fmt: skip
    return targets


def _users(
    p: SimParams, org: Any, pool: AddressPool, rng: np.random.Generator, drawn: list[pd.DataFrame]
) -> list[dict[str, Any]]:
    n = len(org.users)
    home_rows = pool.draw(n, country=p.victim_country, net_type="residential")
    homes = home_rows["ip"].tolist()
    carriers = []
    seeds = pool.draw(CARRIERS, country=p.victim_country, net_type="mobile")
    for asn in seeds["asn"]:
        a = None if pd.isna(asn) else int(asn)
        carriers.append(pool.draw(CARRIER_IPS, country=p.victim_country, net_type="mobile", asn=a))
    leave = rng.random(n) < LEAVE_SHARE
    back = int(p.days * LEAVE_UNTIL)
    n_back = int(leave.sum())
    new_rows = pool.draw(n_back, country=p.victim_country, net_type="residential")
    new_home = new_rows["ip"].tolist()
    drawn += [home_rows, seeds, new_rows, *carriers]
    ids = _uuids(rng, 2 * n)
    users = []
    it = iter(new_home)
    for i, upn in enumerate(org.users):
        mobile = rng.random() < p.mobile_share
        users.append({
            "upn": upn, "user_id": ids[2 * i], "home": homes[i],
            "back_day": back if leave[i] else 0,
            "home_after": next(it) if leave[i] else homes[i],
            "rollout": bool(rng.random() < ROLLOUT_SHARE),
            "mobile": mobile,
            "carrier": carriers[int(rng.integers(len(carriers)))]["ip"].tolist() if mobile else [],
            "mobile_session": ids[2 * i + 1], "sessions": {},
        })  # fmt: skip
    return users


def _app(app: Any) -> tuple[str, str, str]:
    if isinstance(app, tuple):
        kind, app_id = app
        name = {"crm": "Contoso CRM Connector", "forged": app_id}[kind]
        return app_id, name, "Client=REST;Client=RESTSystem;;"
    return TOKEN_APPS[app]


def _frames(out: _Out, addr: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    def rows(items: list[dict[str, Any]]) -> pd.DataFrame:
        df = pd.DataFrame(items)
        if not len(df):
            return df
        apps = [_app(a) for a in df["app"]]
        df["app_id"] = [a[0] for a in apps]
        df["app_name"] = [a[1] for a in apps]
        df["client_info"] = [a[2] for a in apps]
        df["upn"] = [u["upn"] for u in df["user"]]
        df["user_id"] = [u["user_id"] for u in df["user"]]
        df = df.join(addr[["asn", "country", "city", "lat", "lon"]], on="ip")
        return df.sort_values("ts", kind="stable").reset_index(drop=True)

    return rows(out.signins), rows(out.mail)


def _write(sig: pd.DataFrame, mail: pd.DataFrame, out_dir: Path, tenant: str, domain: str,
           rng: np.random.Generator, compress: str) -> None:  # fmt: skip
    (out_dir / "entra").mkdir(parents=True, exist_ok=True)
    (out_dir / "m365").mkdir(parents=True, exist_ok=True)
    ids = _uuids(rng, 2 * len(sig))
    with open_out(out_dir / "entra" / "signins.json", compress) as fh:
        lines = []
        for i, r in enumerate(sig.assign(user_agent=_agent(sig)).itertuples(index=False)):
            lines.append(signin_record(r, tenant, (ids[2 * i], ids[2 * i + 1]), token_id(rng)))
        fh.write(("\n".join(lines) + "\n").encode() if lines else b"")
    rids = _uuids(rng, len(mail))
    mail = mail.assign(
        client_app_id="", port=rng.integers(49152, 65535, len(mail)),
        session=mail["session"].where(mail["session"].notna(), None),
    )  # fmt: skip
    with open_out(out_dir / "m365" / "audit.json", compress) as fh:
        lines = []
        row: Any
        for i, row in enumerate(mail.itertuples(index=False)):
            n = 0 if row.access == "Sync" else int(row.items)
            msgs = [f"{rids[i][:8]}-{k}" for k in range(n)]
            lines.append(mail_record(row, tenant, domain, rids[i], msgs))
        fh.write(("\n".join(lines) + "\n").encode() if lines else b"")


def _agent(sig: pd.DataFrame) -> list[str]:
    return [_UA_MOBILE if a == "outlook_mobile" else _UA_DESKTOP for a in sig["app"]]


def _truth(sig: pd.DataFrame, mail: pd.DataFrame, users: list[dict[str, Any]], org: Any,
           exits: pd.DataFrame, crm_ips: list[str], camp: str) -> list[pd.DataFrame]:  # fmt: skip
    use = pd.concat([sig[["ip", "ts", "upn"]], mail[["ip", "ts", "upn"]]], ignore_index=True)
    span = use.groupby("ip").agg(first_active=("ts", "min"), last_active=("ts", "max"),
                                 users=("upn", "nunique"))  # fmt: skip
    kind: dict[str, tuple[str, str]] = {}
    for u in users:
        kind[u["home"]] = (
            ("confounder", "client_rollout") if u["rollout"] else ("benign", "home_broadband")
        )
        if u["back_day"]:
            kind[u["home_after"]] = ("confounder", "back_from_leave")
        for ip in u["carrier"]:
            kind[ip] = ("confounder", "mobile_cgnat")
    for ip in org.offices["ip"]:
        kind[str(ip)] = ("benign", "office")
    for ip in crm_ips:
        kind[ip] = ("confounder", "crm_connector")
    adv = {str(r.ip): str(r.kind) for r in exits.itertuples()}
    rows = []
    for ip, s in span.iterrows():
        if ip in adv:
            rows.append({"ip": ip, "label": "adversary", "kind": adv[ip], "campaign": camp,
                         "role": "exit", **s.to_dict()})  # fmt: skip
        else:
            label, k = kind.get(str(ip), ("benign", "home_broadband"))
            rows.append({"ip": ip, "label": label, "kind": k, "campaign": None, "role": k,
                         **s.to_dict()})  # fmt: skip
    return [pd.DataFrame(rows)]


def run_token_forgery(
    p: SimParams, seed: int, out: Path, sampler: Sampler | None = None
) -> dict[str, Any]:
    """Generate a ``token_forgery`` scenario into ``out`` (see :mod:`attrib.simulate`).

    Parameters
    ----------
    p
        Scenario parameters; the first campaign whose ``network`` is :data:`NETWORK` is the
        forging actor.
    seed
        Random seed (same seed, same files).
    out
        Scenario folder.
    sampler
        Address sampler (tests).

    Returns
    -------
    dict
        Counts: sign-ins, mail records, adversary records, origins, targeted accounts.
    """
    t_start = time.perf_counter()
    rng = np.random.default_rng(seed)
    pool = AddressPool(rng, sampler)
    org = build_org(p, pool, rng)
    t0 = pd.Timestamp(p.start, tz="UTC").timestamp()
    drawn: list[pd.DataFrame] = []
    users = _users(p, org, pool, rng, drawn)
    crm = pool.draw(CRM_IPS, net_type="hosting", country="IE")
    camp = next(c for c in p.campaigns if c.network == NETWORK)
    exits = _exits(camp, p, pool)
    o = _Out()
    _benign(p, users, org, t0, rng, o, int(p.days * ROLLOUT_AT))
    _crm(p, users, crm["ip"].tolist(), t0, rng, o)
    targets = _campaign(camp, p, exits, users, o, t0, rng)
    parts = [org.offices, crm, exits.drop(columns=["kind"]), *drawn]
    addr = pd.concat([x for x in parts if len(x)], ignore_index=True)
    addr = addr.drop_duplicates("ip").set_index("ip")
    sig, mail = _frames(o, addr)
    tenant = _uuids(rng, 1)[0]
    _write(sig, mail, out, tenant, p.domain.split(".")[0], rng, p.compress)
    write_org_toml(org, out / "org.toml")
    truth = build_truth(_truth(sig, mail, users, org, exits, crm["ip"].tolist(), camp.name), addr)
    adv_rows = int(mail["adversary"].notna().sum()) if "adversary" in mail else 0
    counts = {"signins": len(sig), "mail": len(mail), "adversary_mail": adv_rows}
    meta: dict[str, Any] = {
        "preset": p.name, "seed": seed, "generator": "token_forgery",
        "targets": [u["upn"] for u in targets],
        "counts": counts,
    }  # fmt: skip
    write_truth(truth, out, meta)
    write_chains([], out)
    logger.info("token_forgery: %d sign-ins, %d mail records", len(sig), len(mail))
    seconds = round(time.perf_counter() - t_start, 3)
    return {**counts, "seconds": seconds, "origins": len(truth), "targets": len(targets)}
