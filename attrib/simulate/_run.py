"""Run a scenario day by day, streaming every output file."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from attrib.simulate._addresses import AddressPool, Sampler
from attrib.simulate._frames import frame
from attrib.simulate._identity_writer import EntraWriter, M365Writer
from attrib.simulate._pcap_writer import PcapWriter
from attrib.simulate._profiles import DEVICES
from attrib.simulate._traffic import conn_rows, device_fields, ssl_rows, zeek_uids
from attrib.simulate._zeek_writer import CONN_FIELDS, SSL_FIELDS, ZeekWriter
from attrib.simulate.background import background_day, build_background
from attrib.simulate.campaigns import Campaign, build_campaign, campaign_day, rtt_ms
from attrib.simulate.org import Org, build_org, write_org_toml
from attrib.simulate.population import (
    DAY,
    SPRAY_TOOLS,
    Population,
    benign_day,
    build_population,
    scanners_day,
    sprayers_day,
)
from attrib.simulate.presets import SimParams
from attrib.simulate.truth import build_truth, write_chains, write_truth

__all__ = ["run"]

logger = logging.getLogger(__name__)
_ACCESS = {"residential": 12.0, "business": 6.0, "hosting": 1.0, "mobile": 35.0, "cdn": 1.0}
_APPS_DESKTOP = np.array(["office", "outlook_web", "teams"])
_APPS_SPRAY = np.array(["office", "ms_office", "azure_portal"])
#: per commodity spray tool (index into SPRAY_TOOLS): TLS hello profile, Entra client app
_SPRAY_HELLO = np.array([t[1] for t in SPRAY_TOOLS], dtype=object)
_SPRAY_CLIENT = np.array([t[2] for t in SPRAY_TOOLS], dtype=object)
#: Account names commodity sprayers guess (role accounts and numbered variants).
_GUESSES = (
    "admin", "administrator", "info", "sales", "test", "support", "hr", "office", "it",
    "helpdesk", "reception", "backup", "finance", "marketing", "scanner", "service", "mail",
    "contact", "accounting", "postmaster",
)  # fmt: skip
_NO_USER = "00000000-0000-0000-0000-000000000000"


class _Ctx:
    """Shared state of a run."""

    def __init__(
        self,
        p: SimParams,
        org: Org,
        pop: Population,
        camps: list[Campaign],
        addr: pd.DataFrame,
        t0: float,
        rng: np.random.Generator,
    ) -> None:
        self.p, self.org, self.pop, self.camps, self.addr, self.t0, self.rng = (
            p,
            org,
            pop,
            camps,
            addr,
            t0,
            rng,
        )
        self.lat0 = float(org.service_row["lat"]) if pd.notna(org.service_row["lat"]) else 50.0
        self.lon0 = float(org.service_row["lon"]) if pd.notna(org.service_row["lon"]) else 8.0
        self.ids = [_uid(rng) for _ in range(p.users)]
        self.names = [
            u.split("@")[0].rstrip("0123456789").replace(".", " ").title() for u in org.users
        ]
        self.login_ip = ""
        self.web_ips: np.ndarray = np.array([], dtype=object)

    def rtt_to(self, ips: np.ndarray) -> np.ndarray:
        a = self.addr.reindex(ips)
        acc = a["net_type"].astype(object).map(_ACCESS).fillna(10.0).to_numpy(dtype=float)
        return rtt_ms(
            self.lat0,
            self.lon0,
            a["lat"].to_numpy(dtype=float),
            a["lon"].to_numpy(dtype=float),
            acc,
        )


def _uid(rng: np.random.Generator) -> str:
    import uuid

    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


def _addresses(pop: Population, camps: list[Campaign], extra: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [*pop.addresses, *extra] + [
        c.nodes[["ip", "asn", "as_org", "country", "city", "lat", "lon", "net_type"]] for c in camps
    ]
    df = pd.concat([f.astype(object) for f in frames if len(f)], ignore_index=True)
    df = df.drop_duplicates("ip").set_index("ip")
    df["lat"] = pd.to_numeric(df["lat"], errors="coerce")
    df["lon"] = pd.to_numeric(df["lon"], errors="coerce")
    return df


def _benign_sessions(ctx: _Ctx, bconn: pd.DataFrame, scans: pd.DataFrame) -> pd.DataFrame:
    stack, hello = device_fields(bconn["device"].to_numpy())
    stack = np.where(bconn["service"].to_numpy() == "ssh", "linux", stack)
    b = frame(
        {
            "ts": bconn["ts"],
            "ip": bconn["ip"],
            "service": bconn["service"],
            "stack": stack,
            "hello": hello,
        }
    )
    s = frame(
        {"ts": scans["ts"], "ip": scans["ip"], "service": "scan", "stack": "linux", "hello": ""}
    )
    df = pd.concat([b, s], ignore_index=True)
    df["rtt_ms"] = ctx.rtt_to(df["ip"].to_numpy())
    df["app_rtt_ms"] = df["rtt_ms"] + ctx.rng.uniform(0.5, 4.0, len(df))
    return df


def _guess_upn(k: int, domain: str) -> str:
    """The ``k``-th guessed account name (one that does not exist in the tenant)."""
    g = _GUESSES[k % len(_GUESSES)]
    n = k // len(_GUESSES)
    return f"{g}{n if n else ''}@{domain}"


def _spray_sessions(ctx: _Ctx, spray: pd.DataFrame) -> pd.DataFrame:
    """Connections of commodity sprayers to the VPN gateway and OWA (direct, no relay)."""
    s = spray[spray["channel"].to_numpy() != "entra"]
    df = frame(
        {
            "ts": s["ts"],
            "ip": s["ip"],
            "service": s["channel"],
            "stack": "linux",
            "hello": _SPRAY_HELLO[s["tool"].to_numpy(dtype=int)],
        }
    )
    df["rtt_ms"] = ctx.rtt_to(df["ip"].to_numpy())
    df["app_rtt_ms"] = df["rtt_ms"] + ctx.rng.uniform(0.5, 4.0, len(df))
    return df


def _background_sessions(ctx: _Ctx, sess: pd.DataFrame) -> pd.DataFrame:
    """Connection-only background (website audience, crawlers, VPN probes, mail), direct."""
    df = sess.reset_index(drop=True)
    df["rtt_ms"] = ctx.rtt_to(df["ip"].to_numpy())
    df["app_rtt_ms"] = df["rtt_ms"] + ctx.rng.uniform(0.5, 4.0, len(df))
    return df


def _chain_rtts(camp: Campaign, node: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per attempt: traversal, relay, operator node ids and hop RTTs (exit->trav->relay->op)."""
    nd = camp.nodes
    up = nd["up"].to_numpy()
    trav = up[node]
    relay = up[trav]
    op = up[relay]
    lat, lon = nd["lat"].to_numpy(dtype=float), nd["lon"].to_numpy(dtype=float)
    hops = np.stack(
        [
            rtt_ms(lat[node], lon[node], lat[trav], lon[trav], 12.0),
            rtt_ms(lat[trav], lon[trav], lat[relay], lon[relay], 12.0),
            rtt_ms(lat[relay], lon[relay], lat[op], lon[op], 10.0),
        ],
        axis=1,
    )
    return np.stack([trav, relay, op], axis=1), hops, up


def _adversary(ctx: _Ctx, day: int, writers: dict[str, Any]) -> tuple[list[pd.DataFrame], ...]:
    sess, signs, mails, chains = [], [], [], []
    for ci, camp in enumerate(ctx.camps):
        c, nd = camp.params, camp.nodes
        att, mail = campaign_day(camp, ctx.p, ctx.org, day, ctx.t0, ctx.rng)
        ips = nd["ip"].to_numpy()
        node = att["node"].to_numpy()
        path, hops, _ = _chain_rtts(camp, node)
        t_rtt = ctx.rtt_to(ips[node])
        app = t_rtt + hops.sum(axis=1)
        conn = att["channel"].to_numpy() != "entra"
        sess.append(
            frame(
                {
                    "ts": att["ts"].to_numpy()[conn],
                    "ip": ips[node][conn],
                    "service": att["channel"].to_numpy()[conn],
                    "stack": nd["stack"].to_numpy()[node][conn],
                    "hello": c.tls_client,
                    "rtt_ms": t_rtt[conn],
                    "app_rtt_ms": app[conn],
                    "_camp": ci,
                    "_att": np.flatnonzero(conn),
                }
            )
        )
        signs.append(
            frame(
                {
                    "ts": att["ts"].to_numpy()[~conn],
                    "user": att["user"].to_numpy()[~conn],
                    "ip": ips[node][~conn],
                    "error": att["error"].to_numpy()[~conn],
                    "adv": ci,
                }
            )
        )
        mails.append(
            frame(
                {
                    "ts": mail["ts"],
                    "user": mail["user"],
                    "ip": ips[mail["node"].to_numpy(dtype=int)],
                    "adv": ci,
                }
            )
        )
        n = len(att)
        base = writers["attempts"]
        writers["attempts"] += n
        ts = att["ts"].to_numpy()
        svc = np.array(
            [ctx.org.services.get(ch, "login.microsoftonline.com") for ch in att["channel"]],
            dtype=object,
        )
        seq = [ips[path[:, 2]], ips[path[:, 1]], ips[path[:, 0]], ips[node], svc]
        lags = 0.001 + ctx.rng.exponential(0.004, (n, 3))  # forwarding delay per relay
        t_in = np.empty((n, 3))
        t_in[:, 2] = ts - lags[:, 2]
        t_in[:, 1] = t_in[:, 2] - hops[:, 0] / 2000.0 - lags[:, 1]
        t_in[:, 0] = t_in[:, 1] - hops[:, 1] / 2000.0 - lags[:, 0]
        for h in range(3):
            chains.append(
                frame(
                    {
                        "campaign": c.name,
                        "attempt": base + np.arange(n),
                        "hop": h,
                        "in_src": seq[h],
                        "relay": seq[h + 1],
                        "out_dst": seq[h + 2],
                        "ts": t_in[:, h],
                        "lag_s": lags[:, h],
                        "rtt_ms": hops[:, 2 - h],
                        "channel": att["channel"].to_numpy(),
                        "in_uid": None,
                        "out_uid": None,
                    }
                )
            )
    return sess, signs, mails, chains


def _signin_frame(
    ctx: _Ctx, b: pd.DataFrame, adv: list[pd.DataFrame], spray: pd.DataFrame
) -> pd.DataFrame:
    p, rng = ctx.p, ctx.rng
    n = len(b)
    dev = b["device"].to_numpy()
    mobile = np.isin(dev, ["ios_safari", "android_chrome"])
    base = frame(
        {
            "ts": b["ts"].to_numpy(),
            "user": b["user"].to_numpy(),
            "ip": b["ip"].to_numpy(),
            "app": rng.choice(_APPS_DESKTOP, n),
            "client_app": np.where(mobile, "Mobile Apps and Desktop clients", "Browser"),
            "device": dev,
            "error": 0,
            "mfa": rng.random(n) < p.mfa_prompt_rate,
        }
    )
    mist = base[rng.random(n) < p.mistype_rate].assign(error=50126, mfa=False)
    mist["ts"] = mist["ts"] - rng.uniform(5, 60, len(mist))
    mfa = base[base["mfa"]].assign(error=50074, mfa=False)
    mfa["ts"] = mfa["ts"] - rng.uniform(10, 40, len(mfa))
    rows = [base, mist, mfa]
    sp = spray[spray["channel"].to_numpy() == "entra"]
    if len(sp):
        tool = sp["tool"].to_numpy(dtype=int)
        rows.append(
            frame(
                {
                    "ts": sp["ts"],
                    "user": sp["user"],
                    "ip": sp["ip"],
                    "app": rng.choice(_APPS_SPRAY, len(sp)),
                    "client_app": _SPRAY_CLIENT[tool],
                    "device": np.char.add("spray:", tool.astype(str)).astype(object),
                    "error": sp["error"],
                    "mfa": False,
                }
            )
        )
    for ci, a in enumerate(adv):
        if a.empty:
            continue
        c = ctx.camps[ci].params
        rows.append(
            frame(
                {
                    "ts": a["ts"],
                    "user": a["user"],
                    "ip": a["ip"],
                    "app": "ms_office",
                    "client_app": "Mobile Apps and Desktop clients",
                    "device": f"tool:{ci}",
                    "error": a["error"],
                    "mfa": False,
                }
            )
        )
        del c
    df = pd.concat(rows, ignore_index=True).sort_values("ts", kind="stable")
    return _identity_columns(ctx, df)


def _identity_columns(ctx: _Ctx, df: pd.DataFrame) -> pd.DataFrame:
    users = df["user"].to_numpy(dtype=int)
    dev = df["device"].to_numpy()
    ua, os_, br = [], [], []
    for d in dev:
        if d in DEVICES:
            x = DEVICES[d]
            ua.append(x.user_agent)
            os_.append(x.os)
            br.append(x.browser)
        elif d.startswith("spray:"):
            ua.append(SPRAY_TOOLS[int(d.split(":")[1])][0])
            os_.append("")
            br.append("")
        else:
            c = ctx.camps[int(d.split(":")[1])].params
            ua.append(c.user_agent)
            browser = "Chrome 103.0.0" if "Chrome/103" in c.user_agent else ""
            os_.append("Windows10" if "Windows" in c.user_agent else "")
            br.append(browser)
    a = ctx.addr.reindex(df["ip"].to_numpy())
    dom = ctx.p.domain
    return df.assign(
        upn=[ctx.org.users[u] if u >= 0 else _guess_upn(-1 - u, dom) for u in users],
        name=[ctx.names[u] if u >= 0 else "" for u in users],
        user_id=[ctx.ids[u] if u >= 0 else _NO_USER for u in users],
        user_agent=ua,
        os=os_,
        browser=br,
        asn=a["asn"].to_numpy(),
        country=a["country"].to_numpy(),
        city=a["city"].to_numpy(),
        lat=a["lat"].to_numpy(),
        lon=a["lon"].to_numpy(),
    ).reset_index(drop=True)


def _mail_frame(ctx: _Ctx, b: pd.DataFrame, adv: list[pd.DataFrame]) -> pd.DataFrame:
    dev = b["device"].to_numpy()
    rows = [
        frame(
            {
                "ts": b["ts"],
                "user": b["user"],
                "ip": b["ip"],
                "client_info": np.where(
                    np.isin(dev, ["ios_safari", "android_chrome"]),
                    "Client=REST;Client=RESTSystem;;",
                    "Client=OWA;Action=ViaProxy",
                ),
                "app": np.where(
                    np.isin(dev, ["ios_safari", "android_chrome"]), "ms_office", "outlook_web"
                ),
            }
        )
    ]
    for a in adv:
        if len(a):
            rows.append(
                frame(
                    {
                        "ts": a["ts"],
                        "user": a["user"],
                        "ip": a["ip"],
                        "client_info": "Client=REST;Client=RESTSystem;;",
                        "app": "ms_office",
                    }
                )
            )
    df = pd.concat(rows, ignore_index=True).sort_values("ts", kind="stable")
    users = df["user"].to_numpy(dtype=int)
    return df.assign(
        upn=[ctx.org.users[u] for u in users], user_id=[ctx.ids[u] for u in users]
    ).reset_index(drop=True)


def _relay_rows(ctx: _Ctx, chains: list[pd.DataFrame], router: str, day: int) -> pd.DataFrame:
    """Both legs at the compromised router ``router`` (two-sided capture), plus its own traffic."""
    rng = ctx.rng
    rows = []
    for hop_rows in chains:
        sel = (hop_rows["relay"] == router).to_numpy()
        if not sel.any():
            continue
        n = int(sel.sum())
        in_uid, out_uid = zeek_uids(rng, n), zeek_uids(rng, n)
        hop_rows.loc[sel, "in_uid"] = in_uid
        hop_rows.loc[sel, "out_uid"] = out_uid
        x = hop_rows[sel]
        dst = (
            x["out_dst"]
            .astype(object)
            .where(x["out_dst"] != "login.microsoftonline.com", ctx.login_ip)
        )
        dur_out = rng.lognormal(np.log(1.5), 0.5, n)
        ob, rb = rng.integers(600, 2400, n), rng.integers(3000, 9000, n)
        rows.append(
            frame(
                {
                    "ts": x["ts"].to_numpy(dtype=float),
                    "uid": in_uid,
                    "id.orig_h": x["in_src"].to_numpy(),
                    "id.orig_p": rng.integers(32768, 61000, n),
                    "id.resp_h": router,
                    "id.resp_p": ctx.p.relay_port,
                    "proto": "tcp",
                    "service": None,
                    "duration": dur_out + x["lag_s"].to_numpy() * 2 + x["rtt_ms"].to_numpy() / 1000,
                    "orig_bytes": ob + 40,
                    "resp_bytes": rb + 12,
                    "conn_state": "SF",
                    "local_orig": False,
                    "local_resp": True,
                    "missed_bytes": 0,
                    "history": "ShADadFf",
                }
            )
        )
        rows.append(
            frame(
                {
                    "ts": x["ts"].to_numpy(dtype=float) + x["lag_s"].to_numpy(),
                    "uid": out_uid,
                    "id.orig_h": router,
                    "id.orig_p": rng.integers(32768, 61000, n),
                    "id.resp_h": dst.to_numpy(),
                    "id.resp_p": 443,
                    "proto": "tcp",
                    "service": "ssl",
                    "duration": dur_out,
                    "orig_bytes": ob,
                    "resp_bytes": rb,
                    "conn_state": "SF",
                    "local_orig": True,
                    "local_resp": False,
                    "missed_bytes": 0,
                    "history": "ShADadFf",
                }
            )
        )
    # the household behind the router browsing the web (NATed: source is the router)
    k = rng.poisson(ctx.p.relay_background_per_day)
    web = ctx.web_ips
    rows.append(
        frame(
            {
                "ts": ctx.t0 + day * DAY + np.sort(rng.random(k)) * DAY,
                "uid": zeek_uids(rng, k),
                "id.orig_h": router,
                "id.orig_p": rng.integers(32768, 61000, k),
                "id.resp_h": rng.choice(web, k),
                "id.resp_p": (port := rng.choice([443, 443, 443, 80], k)),
                "proto": "tcp",
                "service": np.where(port == 443, "ssl", "http"),
                "duration": rng.lognormal(np.log(8), 1.2, k),
                "orig_bytes": rng.integers(500, 5000, k),
                "resp_bytes": rng.integers(2000, 400000, k),
                "conn_state": "SF",
                "local_orig": True,
                "local_resp": False,
                "missed_bytes": 0,
                "history": "ShADadFf",
            }
        )
    )
    df = pd.concat(rows, ignore_index=True).sort_values("ts", kind="stable")
    df["orig_pkts"] = df["orig_bytes"] // 1100 + 4
    df["resp_pkts"] = df["resp_bytes"] // 1400 + 3
    df["orig_ip_bytes"] = df["orig_bytes"] + df["orig_pkts"] * 52
    df["resp_ip_bytes"] = df["resp_bytes"] + df["resp_pkts"] * 52
    df["ip_proto"] = 6
    return df


def _pick_router(camps: list[Campaign], p: SimParams) -> str | None:
    if not camps:
        return None
    nd = camps[0].nodes
    ex = nd[(nd["role"] == "exit") & (nd["kind"] != "vps")]
    if ex.empty:
        ex = nd[nd["role"] == "exit"]
    span = ex["end"].clip(upper=ex["end"].max()) - ex["start"]
    home = ex["country"] == p.victim_country
    best = span.where(home, span * 0.5).idxmax()
    return str(nd.at[best, "ip"])


def _pcap_take(ctx: _Ctx, sess: pd.DataFrame, benign: bool, quota: int) -> pd.DataFrame:
    if quota <= 0 or sess.empty:
        return sess.iloc[:0]
    tls = sess[(sess["hello"].astype(str) != "") & (sess["service"] != "scan")]
    k = min(quota, len(tls), max(1, quota // max(ctx.p.days // 2, 1)) if benign else quota)
    return tls.iloc[np.sort(ctx.rng.choice(len(tls), k, replace=False))] if k else tls.iloc[:0]


def run(p: SimParams, seed: int, out: Path, sampler: Sampler | None = None) -> dict[str, Any]:
    """Generate a scenario into ``out`` (see :func:`attrib.simulate.simulate`)."""
    t_start = time.perf_counter()
    rng = np.random.default_rng(seed)
    pool = AddressPool(rng, sampler)
    org = build_org(p, pool, rng)
    t0 = pd.Timestamp(p.start, tz="UTC").timestamp()
    pop = build_population(p, org, pool, rng, t0)
    camps = [build_campaign(c, p, org, pool, rng, t0) for c in p.campaigns]
    bg = build_background(p, pool, rng, t0, pop.truth, pop.addresses)
    extra = [org.offices]
    ctx = _Ctx(p, org, pop, camps, pd.DataFrame(), t0, rng)
    if p.two_sided:
        login = pool.draw(1, asn=8075, net_type="hosting")
        web = pool.draw(40, net_type="cdn")
        extra += [login, web]
        ctx.login_ip = str(login["ip"].iloc[0])
        ctx.web_ips = web["ip"].to_numpy()
    ctx.addr = _addresses(pop, camps, extra)
    ext = "log" if p.zeek_format == "tsv" else "json"
    for d in ("zeek", "entra", "m365", "pcap"):
        (out / d).mkdir(parents=True, exist_ok=True)
    t1 = t0 + p.days * DAY
    z = p.compress
    conn_w = ZeekWriter(out / "zeek" / f"conn.{ext}", "conn", CONN_FIELDS, p.zeek_format, t0, z)
    ssl_w = ZeekWriter(out / "zeek" / f"ssl.{ext}", "ssl", SSL_FIELDS, p.zeek_format, t0, z)
    tenant = _uid(rng)
    entra_w = EntraWriter(out / "entra" / "signins.json", tenant, rng, z)
    m365_w = M365Writer(out / "m365" / "audit.json", tenant, p.domain.split(".")[0], rng, z)
    pcap_w = PcapWriter(out / "pcap" / "handshakes.pcap", rng)
    router = _pick_router(camps, p) if p.two_sided else None
    relay_w = None
    if router is not None:
        (out / "relay").mkdir(exist_ok=True)
        relay_w = ZeekWriter(
            out / "relay" / f"conn.{ext}", "conn", CONN_FIELDS, p.zeek_format, t0, z
        )
    writers = [w for w in (conn_w, ssl_w, entra_w, m365_w, pcap_w, relay_w) if w is not None]
    try:
        counters: dict[str, Any] = {"attempts": 0}
        chains_all: list[pd.DataFrame] = []
        pc_b, pc_a = p.pcap_handshakes // 2, p.pcap_handshakes - p.pcap_handshakes // 2
        pcap_rows: list[tuple[pd.DataFrame, bool]] = []
        for day in range(p.days):
            bconn, bsign, bmail = benign_day(pop, p, org, day, t0, rng)
            scans = scanners_day(pop, p, day, t0, rng)
            spray = sprayers_day(pop, p, day, t0, rng)
            sess, signs, mails, chains = _adversary(ctx, day, counters)
            bs = _benign_sessions(ctx, bconn, scans)
            sps = _spray_sessions(ctx, spray)
            if len(sps):
                bs = pd.concat([bs, sps], ignore_index=True)
            adv = pd.concat(sess, ignore_index=True) if sess else bs.iloc[:0]
            back = _background_sessions(ctx, background_day(bg, p, day, t0, rng))
            allsess = pd.concat([bs, back, adv.drop(columns=["_camp", "_att"])], ignore_index=True)
            order = np.argsort(allsess["ts"].to_numpy(), kind="stable")
            allsess = allsess.iloc[order].reset_index(drop=True)
            conn = conn_rows(allsess, org.services, p.domain, rng)
            conn_w.write(conn)
            ssl_w.write(ssl_rows(conn, rng))
            entra_w.write(_signin_frame(ctx, bsign, signs, spray))
            m365_w.write(_mail_frame(ctx, bmail, mails))
            if relay_w is not None and router is not None:
                relay_w.write(_relay_rows(ctx, chains, router, day))
            chains_all += chains
            tb = _pcap_take(ctx, bs, True, pc_b)
            ta = _pcap_take(ctx, adv, False, pc_a)
            pc_b, pc_a = pc_b - len(tb), pc_a - len(ta)
            pcap_rows += [(tb, False), (ta, True)]
            logger.info("day %d: %d conns", day, len(conn))
        for zw in (conn_w, ssl_w) + ((relay_w,) if relay_w is not None else ()):
            zw.close(t1)
        entra_w.close()
        m365_w.close()
        _write_pcap(ctx, pcap_w, pcap_rows)
        pcap_w.close()
    except BaseException:
        for w in writers:
            w._fh.close()  # leave no open handle behind; the scenario is incomplete
        raise
    truth = build_truth(pop.truth + [_camp_truth(c) for c in camps], ctx.addr)
    n_chain = write_chains(chains_all, out)
    write_org_toml(org, out / "org.toml")
    counts = {
        "conn_rows": conn_w.rows,
        "ssl_rows": ssl_w.rows,
        "signins": entra_w.rows,
        "mail_items_accessed": m365_w.rows,
        "pcap_connections": pcap_w.connections,
        "relay_conn_rows": relay_w.rows if relay_w is not None else 0,
        "origins": len(truth),
        "adversary_origins": int((truth["label"] == "adversary").sum()),
        "attempts": counters["attempts"],
        "chain_edges": n_chain,
    }
    meta = {
        "preset": p.name,
        "seed": seed,
        "start": p.start,
        "days": p.days,
        "victim_country": p.victim_country,
        "compromised_router": router,
        "counts": counts,
        "params": _jsonable(asdict(p)),
    }
    write_truth(truth, out, meta)
    counts["seconds"] = round(time.perf_counter() - t_start, 3)
    return counts


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    return x


def _camp_truth(c: Campaign) -> pd.DataFrame:
    nd = c.nodes
    return frame(
        {
            "ip": nd["ip"],
            "label": "adversary",
            "kind": nd["kind"],
            "campaign": c.params.name,
            "role": nd["role"],
            "first_active": nd["start"],
            "last_active": nd["end"],
            "lifetime_days": nd["lifetime_days"],
            "users": pd.NA,
        }
    )


def _write_pcap(ctx: _Ctx, w: PcapWriter, parts: list[tuple[pd.DataFrame, bool]]) -> None:
    rows = (
        pd.concat([df.assign(_adv=adv) for df, adv in parts if len(df)], ignore_index=True)
        if any(len(df) for df, _ in parts)
        else None
    )
    if rows is None:
        return
    rows = rows.sort_values("ts", kind="stable")
    r: Any
    for r in rows.itertuples():
        sni = f"{'vpn' if r.service == 'vpn' else 'mail'}.{ctx.p.domain}"
        w.handshake(
            float(r.ts),
            str(r.ip),
            ctx.org.services.get(str(r.service), ctx.org.services["owa"]),
            str(r.stack),
            int(ctx.rng.integers(6, 18)),
            str(r.hello),
            sni,
            float(r.rtt_ms),
            float(r.app_rtt_ms),
        )
