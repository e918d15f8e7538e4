"""SYN traits, OS-family guesses and MSS/MTU tunnel hints."""

from __future__ import annotations

import pytest

from attrib.io.tcpfp import guess_os, initial_ttl, parse_options, syn_traits, tunnel_hint

LINUX = bytes.fromhex("020405b40402080a0001e2400000000001030307")
WINDOWS = bytes.fromhex("020405b40103030801010402")
MACOS = bytes.fromhex("020405b4010303060101080a1c2b3a490000000004020000")


@pytest.mark.parametrize(("ttl", "it"), [(1, 32), (32, 32), (33, 64), (57, 64), (64, 64),
                                         (113, 128), (128, 128), (129, 255), (250, 255)])  # fmt: skip
def test_initial_ttl(ttl: int, it: int) -> None:
    assert initial_ttl(ttl) == it


def test_parse_options_in_wire_order() -> None:
    assert parse_options(LINUX) == ("M,S,T,N,W", 1460, 7, False)
    assert parse_options(WINDOWS) == ("M,N,W,N,N,S", 1460, 8, False)
    letters, mss, ws, ts0 = parse_options(MACOS)
    assert letters.startswith("M,N,W,N,N,T,S,E") and (mss, ws) == (1460, 6)


def test_parse_options_cut_off_and_malformed() -> None:
    assert parse_options(LINUX[:8]) == ("M,S,T,!", 1460, None, False)
    assert parse_options(b"\x02\x00\x05\xb4") == ("M,!", None, None, False)  # zero length
    assert parse_options(b"\x08\x0a" + b"\0" * 8) == ("T", None, None, True)
    assert parse_options(b"") == ("", None, None, False)


@pytest.mark.parametrize(("opts", "ttl", "win", "os_"), [
    (LINUX, 52, 64240, "linux"), (WINDOWS, 113, 64240, "windows"), (MACOS, 60, 65535, "macos"),
    (b"\x02\x04\x05\xb4", 250, 4128, "network-device"), (b"", 40, 1024, "scanner"),
    (b"\x02\x04\x05\xb4\x01\x01\x04\x02", 50, 5000, None),
])  # fmt: skip
def test_os_guess(opts: bytes, ttl: int, win: int, os_: str | None) -> None:
    assert guess_os(syn_traits(4, ttl, 1, 1234, win, opts, 1235)) == os_


def test_fingerprint_text_and_ip_id_behaviour() -> None:
    t = syn_traits(4, 52, 1, 1000, 64240, LINUX, 1001)
    assert (t.ittl, t.hops) == (64, 12)
    assert t.fp == "4:64:12:64240:1460:7:M,S,T,N,W:df,id+"
    assert syn_traits(4, 52, 0, 0, 64240, LINUX, 0).fp.endswith(":id0")
    assert syn_traits(4, 52, 0, 1000, 64240, LINUX, 40000).fp.endswith(":idr")
    assert syn_traits(6, 52, 0, 0, 64240, LINUX).fp.endswith(":")


@pytest.mark.parametrize(("mss", "ipv", "hint"), [
    (1460, 4, None), (1440, 6, None), (1452, 4, "pppoe:mtu1492"), (1432, 6, "pppoe:mtu1492"),
    (1436, 4, "gre:mtu1476"), (1440, 4, "ipip:mtu1480"), (1410, 4, "vxlan:mtu1450"),
    (1380, 4, "wireguard:mtu1420"), (1360, 4, "ipsec:mtu1400"), (1300, 4, "vpn:mtu1340"),
    (1200, 4, "tunnel:mtu1240"), (None, 4, None), (8960, 4, None),
])  # fmt: skip
def test_tunnel_hints(mss: int | None, ipv: int, hint: str | None) -> None:
    assert tunnel_hint(mss, ipv) == hint
