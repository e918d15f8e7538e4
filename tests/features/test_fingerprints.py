"""Fingerprint features pinned on hand-built tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from attrib.features import build_origins
from attrib.features.fingerprints import ua_os_family

from .conftest import by_ip, conn, make_events, signin

A, B, C = "203.0.113.1", "203.0.113.2", "203.0.113.3"
WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120"
FP = "4:64:1:29200:1452:7:M,S,T,N,W:df"


def test_ua_os_family() -> None:
    ua = pd.Series([WIN, "Mozilla/5.0 (Linux; Android 14) Chrome", "Mozilla/5.0 (iPhone; CPU iPhone OS 17 like Mac OS X)",
                    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1)", "python-requests/2.31", None])  # fmt: skip
    assert list(ua_os_family(ua).fillna("-")) == ["windows", "android", "ios", "macos", "-", "-"]


def test_sharing_counts_ephemeral_peers_and_distinct(enrichment: pd.DataFrame) -> None:
    ev = make_events([
        conn("2026-11-02T10:00:00Z", A, ja4="t13d_rare", tcp_fp=FP, user_agent=WIN),
        conn("2026-11-02T10:01:00Z", A, ja4="t13d_other", tcp_fp=FP, user_agent=WIN),
        conn("2026-11-02T10:02:00Z", A, ja4="t13d_rare", tcp_fp=FP, user_agent=WIN),
        conn("2026-11-02T11:00:00Z", B, ja4="t13d_rare", tcp_fp=FP, user_agent=WIN),
        conn("2026-11-02T12:00:00Z", C, ja4="t13d_rare", tcp_fp="x", user_agent="curl/8"),
    ])  # fmt: skip
    o = by_ip(build_origins(ev, enrichment))
    assert o.loc[A, "top_ja4"] == "t13d_rare" and o.loc[A, "n_ja4"] == 2
    assert o.loc[A, "ja4_peers"] == 2 and o.loc[A, "tcp_fp_peers"] == 1
    assert o.loc[C, "tcp_fp_peers"] == 0 and o.loc[C, "ua_peers"] == 0
    # A (residential, <3 days) and C (mobile, <3 days) are ephemeral; B is hosting
    assert o.loc[B, "ja4_peers_ephemeral"] == 2
    assert o.loc[A, "ja4_peers_ephemeral"] == 1  # itself excluded
    assert o.loc[B, "ua_peers_ephemeral"] == 1  # A shares WIN; C (ephemeral) uses curl
    assert o.loc[B, "tcp_fp_peers_ephemeral"] == 1 and o.loc[A, "tcp_fp_peers_ephemeral"] == 0
    assert o.loc[A, "n_user_agents"] == 1


def test_os_mismatch_and_mss_hints() -> None:
    ev = make_events([
        conn("2026-11-02T10:00:00Z", A, user_agent=WIN, tcp_fp=FP, tcp_os="linux",
             tunnel_hint="pppoe:mtu1492"),
        conn("2026-11-02T10:01:00Z", A, user_agent=WIN, tcp_fp=FP, tcp_os="linux"),
        conn("2026-11-02T10:00:00Z", B, user_agent=WIN, tcp_fp="w", tcp_os="windows",
             tunnel_hint="wireguard:mtu1420"),
        conn("2026-11-02T10:00:00Z", C, user_agent="python-requests/2.31", tcp_os="linux"),
    ])  # fmt: skip
    o = by_ip(build_origins(ev))
    assert o.loc[A, "os_mismatch"] == 1.0 and o.loc[B, "os_mismatch"] == 0.0
    assert math.isnan(o.loc[C, "os_mismatch"])  # the UA claims no OS
    assert o.loc[A, "pppoe_share"] == pytest.approx(0.5) and o.loc[A, "tunnel_share"] == 0.0
    assert o.loc[B, "tunnel_share"] == 1.0
    assert math.isnan(o.loc[C, "tunnel_share"])  # no SYN seen


def test_ua_peers_unknown_share_pools_failures_of_the_tool() -> None:
    ev = make_events([
        signin("2026-11-02T10:00:00Z", A, "x@corp", user_agent="BAV2ROPC", error_code="50034"),
        signin("2026-11-02T10:01:00Z", A, "y@corp", user_agent="BAV2ROPC", error_code="50126"),
        signin("2026-11-02T11:00:00Z", B, "z@corp", user_agent="BAV2ROPC", error_code="50034"),
        signin("2026-11-02T11:00:00Z", B, "a@corp", user_agent="BAV2ROPC", error_code="50034"),
        signin("2026-11-02T12:00:00Z", C, "a@corp", user_agent=WIN, error_code="50126"),
        signin("2026-11-02T12:05:00Z", "198.51.100.9", "a@corp", outcome="success",
               user_agent="curl/8"),
    ])  # fmt: skip
    o = by_ip(build_origins(ev))
    assert o.loc[A, "ua_peers_unknown_share"] == pytest.approx(3 / 4)  # A and B pooled
    assert o.loc[B, "ua_peers_unknown_share"] == pytest.approx(3 / 4)
    assert o.loc[C, "ua_peers_unknown_share"] == 0.0
    assert math.isnan(o.loc["198.51.100.9", "ua_peers_unknown_share"])  # no failures
    # A lives 1 minute, B 0: their tool's median lifetime is half a minute
    assert o.loc[A, "ua_peers_lifetime_days"] == pytest.approx(0.5 / 1440)
    assert o.loc[B, "ua_peers_lifetime_days"] == o.loc[A, "ua_peers_lifetime_days"]
