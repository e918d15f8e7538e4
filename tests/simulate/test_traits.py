"""The adversary's leaks: tooling traits across exits, router TCP stacks, relay latency, mail access."""

from __future__ import annotations

import pandas as pd
import pytest

import attrib.io as aio
from attrib.simulate import SimulationResult
from attrib.simulate._profiles import ja4_of

pytestmark = pytest.mark.slow


def test_tooling_and_stack_leaks(demo_a: SimulationResult) -> None:
    c = demo_a.params.campaigns[0]
    t = pd.read_parquet(demo_a.paths["truth"])
    exits = set(t.loc[t["role"] == "exit", "ip"])
    pc = aio.read(demo_a.paths["pcap"])
    adv = pc[pc["src_ip"].isin(exits)]
    ben = pc[~pc["src_ip"].isin(exits)]
    assert len(adv) >= 5 and len(ben) >= 5
    assert set(adv["ja4"]) == {ja4_of(c.tls_client)}
    # no user's device speaks the operator's TLS (commodity sprayers' Go tools may)
    spray = set(t.loc[t["kind"] == "commodity_spray", "ip"])
    assert ja4_of(c.tls_client) not in set(ben.loc[~ben["src_ip"].isin(spray), "ja4"])
    # the exits are routers: embedded Linux SYN (TTL 64, small window, PPPoE MSS)
    assert adv["tcp_fp"].str.contains(":5808:1452:").all()
    # relay latency: the TLS peer (operator) is far behind the exit
    extra = adv["rtt_app_ms"] - adv["rtt_ack_ms"]
    assert (extra > 100).all()  # the far end of the TLS session is behind the relay chain
    home = t.set_index("ip").loc[adv["src_ip"].astype(str), "country"].to_numpy()
    near = adv[home == demo_a.params.victim_country]
    assert len(near) >= 3
    assert (near["rtt_app_ms"] > 3 * near["rtt_ack_ms"]).all()  # exit near, operator far
    assert (ben["rtt_app_ms"] < ben["rtt_ack_ms"] + 10).all()
    # in the sign-in logs, one user agent across many exits
    si = aio.read(demo_a.paths["signins"])
    a = si[si["src_ip"].isin(exits)]
    assert set(a["user_agent"]) == {c.user_agent}
    assert a["src_ip"].nunique() >= 20


def test_mailbox_access_follows_a_success(demo_a: SimulationResult) -> None:
    c = demo_a.params.campaigns[0]
    t = pd.read_parquet(demo_a.paths["truth"])
    exits = set(t.loc[t["role"] == "exit", "ip"])
    si = aio.read(demo_a.paths["signins"])
    ok = si[si["src_ip"].isin(exits) & (si["outcome"] == "success")]
    assert 1 <= len(ok) <= c.compromised_accounts
    first = ok.groupby("user")["ts"].min()
    mail = aio.read(demo_a.paths["audit"])
    am = mail[mail["src_ip"].isin(exits)]
    assert len(am) > 0
    assert set(am["user"]) <= set(first.index)
    assert (am["ts"].to_numpy() > first.reindex(am["user"]).to_numpy()).all()
    per_user_day = am.groupby(["user", am["ts"].dt.floor("D")])["src_ip"].nunique()
    assert per_user_day.max() <= c.mail_access_exits


def test_two_sided_capture_links_both_legs(two_sided: SimulationResult) -> None:
    ch = pd.read_parquet(two_sided.paths["chains"])
    legs = ch[ch["in_uid"].notna()]
    assert len(legs) >= 10
    router = legs["relay"].iloc[0]
    assert (legs["relay"] == router).all()
    conn = aio.read(two_sided.paths["relay_conn"]).set_index("uid")
    inb = conn.loc[legs["in_uid"]]
    out = conn.loc[legs["out_uid"]]
    assert (inb["dst_ip"].to_numpy() == router).all()
    assert (inb["src_ip"].to_numpy() == legs["in_src"].to_numpy()).all()
    assert (out["src_ip"].to_numpy() == router).all()
    lag = (out["ts"].to_numpy() - inb["ts"].to_numpy()) / pd.Timedelta(seconds=1)
    assert abs(lag - legs["lag_s"].to_numpy()).max() < 1e-5
    # the router also carries its household's own traffic
    assert len(conn) > 2 * len(legs)


def test_commodity_sprayers_are_noisy_and_guess_accounts(demo_a: SimulationResult) -> None:
    p = demo_a.params
    t = pd.read_parquet(demo_a.paths["truth"])
    spray = t[t["kind"] == "commodity_spray"]
    # a share of the residential-proxy drips comes back on later days from the same address
    assert 0.6 * p.spray_ips_per_day * p.days < len(spray) < p.spray_ips_per_day * p.days
    assert (spray["label"] == "confounder").all()
    life = spray["last_active"] - spray["first_active"]
    one_day = life <= pd.Timedelta(days=1) if hasattr(life, "dt") else life <= 86400
    assert 0.7 < one_day.mean() < 1.0
    si = aio.read(demo_a.paths["signins"])
    s = si[si["src_ip"].isin(set(spray["ip"]))]
    assert (s["outcome"] == "failure").all()
    codes = s["error_code"].astype(str).value_counts(normalize=True)
    assert 0.35 < codes.get("50034", 0.0) < 0.65  # about half the names do not exist
    assert codes.get("50126", 0.0) > 0.3
    # they out-number the campaign's failures: counting failures does not find the campaign
    exits = set(t.loc[t["role"] == "exit", "ip"])
    fails = si[si["outcome"] == "failure"]
    assert fails["src_ip"].isin(set(spray["ip"])).sum() > 3 * fails["src_ip"].isin(exits).sum()
    # bursts from hosting networks, drip through residential space
    # (per address and day: a returning drip address adds a few attempts on each day)
    per_ip = s.groupby(["src_ip", s["ts"].dt.floor("D")], observed=True).size()
    assert per_ip.max() >= 20 and per_ip.median() <= 5
