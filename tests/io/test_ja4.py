"""JA4 against FoxIO's expected values for every TLS-over-TCP stream of their sample captures."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from _pcap_data import JA4_DIR, need

from attrib.io import read
from attrib.io._base import FileStats, ReadContext
from attrib.io.pcap._conn import Conn, Tracker, reassemble
from attrib.io.pcap._container import iter_batches
from attrib.io.pcap._decode import decode
from attrib.io.tls import ClientHello, client_hellos, ja4, parse_client_hello


def _expected() -> list[tuple[str, dict[str, str]]]:
    out = []
    for f in sorted((JA4_DIR / "expected").glob("*.json")) if JA4_DIR.exists() else []:
        for rec in json.loads(f.read_text()):
            if any(k.startswith("JA4.") for k in rec):
                out.append((f.name.removesuffix(".json"), rec))
    return out


def _conns(path: Path) -> list[Conn]:
    done: list[Conn] = []
    tr = Tracker(done.append)
    ctx = ReadContext(stats=FileStats(path=str(path)))
    with open(path, "rb") as fh:
        for b in iter_batches(fh, ctx):
            tr.feed(b, decode(b))
    tr.flush()
    return done


EXPECTED = _expected()


def test_expected_data_present() -> None:
    need(JA4_DIR / "expected")
    assert len(EXPECTED) >= 60


@pytest.mark.parametrize("capture", sorted({c for c, _ in EXPECTED}))
def test_every_client_hello_matches(capture: str) -> None:
    path = need(JA4_DIR / "pcap" / capture)
    conns = {(c.orig[0], c.orig[1], c.resp[0], c.resp[1]): c for c in _conns(path)}
    checked = 0
    for cap, rec in EXPECTED:
        if cap != capture:
            continue
        c = conns[(rec["src"], int(rec["srcport"]), rec["dst"], int(rec["dstport"]))]
        got = [ja4(ch) for ch in client_hellos(reassemble(c))]
        want = [rec[k] for k in sorted(k for k in rec if k.startswith("JA4."))]
        assert got[: len(want)] == want, (rec["stream"], got, want)
        checked += len(want)
    assert checked > 0


def test_reader_column_carries_first_ja4_and_sni() -> None:
    path = need(JA4_DIR / "pcap" / "tls-alpn-h2.pcap")
    df = read(path)
    row = df[df["dst_port"] == 443].iloc[0]
    assert row["ja4"] == "t12d4605h2_85626a9a5f7f_aaf95bb78ec9"
    assert row["tls_sni"] == "www.cloudflare.com"
    assert row["service"] == "ssl"
    assert 30 < row["rtt_syn_ms"] < 50  # SYN -> SYN-ACK seen at the client
    assert pd.isna(row["rtt_app_ms"])  # the capture ends before the client's second flight


def test_app_rtt_present_when_the_client_answers_the_server_flight() -> None:
    df = read(need(JA4_DIR / "pcap" / "tls-handshake.pcapng"))
    tls = df[df["ja4"].notna()]
    assert len(tls) >= 50
    assert (tls["rtt_app_ms"].dropna() > 0).sum() >= 10


def _hello(**kw: object) -> ClientHello:
    base: dict[str, object] = {"version": 0x0303, "ciphers": [0x1301, 0x0A0A], "extensions": []}
    base.update(kw)
    return ClientHello(**base)  # type: ignore[arg-type]


def test_grease_is_ignored_and_counts_are_capped() -> None:
    a = ja4(_hello(ciphers=[0x0A0A, 0x1301], extensions=[0x1A1A, 0, 16]))
    assert a.startswith("t12d0102")
    many = ja4(_hello(ciphers=list(range(1, 150)), extensions=[0]))
    assert many.startswith("t12d9901")


def test_alpn_non_alphanumeric_is_99() -> None:
    assert ja4(_hello(alpn=[b"\xba\xad"], extensions=[16]))[8:10] == "99"
    assert ja4(_hello(alpn=[b"h2"], extensions=[16]))[8:10] == "h2"
    assert ja4(_hello())[8:10] == "00"


def test_supported_versions_beat_legacy_version() -> None:
    assert ja4(_hello(supported_versions=[0x2A2A, 0x0304, 0x0303]))[1:3] == "13"


def test_client_hello_split_over_two_records_and_cut_off() -> None:
    body = bytes.fromhex("0303") + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += b"\x00\x00"  # no extensions
    msg = b"\x01" + len(body).to_bytes(3, "big") + body
    half = len(msg) // 2
    rec = b"".join(
        b"\x16\x03\x01" + len(part).to_bytes(2, "big") + part for part in (msg[:half], msg[half:])
    )
    chs = client_hellos(rec)
    assert len(chs) == 1 and chs[0].ciphers == [0x1301]
    assert client_hellos(rec[:-3]) == []
    assert parse_client_hello(body[:20]) is None


# --- TLS through a SOCKS proxy ------------------------------------------------------------------

_SOCKS = {
    "socks4": b"\x04\x01\x01\xbb\xc6\x33\x64\x07user\x00",
    "socks4a": b"\x04\x01\x01\xbb\x00\x00\x00\x01\x00example.org\x00",
    "socks5": b"\x05\x01\x00" + b"\x05\x01\x00\x03\x0bexample.org\x01\xbb",
    "socks5-auth": b"\x05\x02\x00\x02" + b"\x01\x03bob\x06secret" + b"\x05\x01\x00\x01\xc6\x33\x64\x07\x01\xbb",
    "socks5-ipv6": b"\x05\x01\x00" + b"\x05\x01\x00\x04" + b"\x20\x01\x0d\xb8" + b"\x00" * 12 + b"\x01\xbb",
}  # fmt: skip


def _hello_bytes() -> bytes:
    from attrib.simulate._profiles import HELLOS, client_hello

    return client_hello(sorted(HELLOS)[0], "relay.example", bytes(range(64)))


@pytest.mark.parametrize("kind", sorted(_SOCKS))
def test_socks_handshake_length(kind: str) -> None:
    from attrib.io.tls import socks_end, tls_start

    prefix = _SOCKS[kind]
    hello = _hello_bytes()
    assert socks_end(prefix + hello) == len(prefix)
    assert tls_start(prefix + hello) == len(prefix)
    assert tls_start(prefix + b"GET / HTTP/1.1\r\n") == -1  # SOCKS, but not TLS behind it
    assert socks_end(prefix[:-1]) in (0, len(prefix) - 1) or kind.startswith("socks4")
    assert [ja4(c) for c in client_hellos(prefix + hello)] == [ja4(c) for c in client_hellos(hello)]


def test_not_socks() -> None:
    from attrib.io.tls import socks_end, tls_start

    assert socks_end(b"\x04\x09" + b"\x00" * 20) == 0  # no such SOCKS 4 command
    assert socks_end(b"\x05\x01\x00\x05\x01\x00\x07" + b"\x00" * 8) == 0  # unknown address type
    assert socks_end(b"\x04\x01\x01\xbb\x01\x02\x03\x04" + b"u" * 40) == 0  # user id never ends
    assert tls_start(b"SSH-2.0-OpenSSH_9.6\r\n") == -1 and tls_start(b"\x16\x03\x01") == 0


def test_ja4_and_sni_of_tls_through_socks_in_a_capture(tmp_path: Path) -> None:
    """Both trackers (compiled and the Python reference, ``verify=True``) find the ClientHello."""
    from _pcap_build import eth, handshake, pcap

    from attrib.io.pcap._table import FastTracker

    hello = _hello_bytes()
    frames = [eth(p) for p in handshake(sp=40000, dp=443, data=hello)]
    for i, kind in enumerate(sorted(_SOCKS)):
        frames += [eth(p) for p in handshake(sp=40001 + i, dp=1080, data=_SOCKS[kind] + hello)]
    p = tmp_path / "socks.pcap"
    p.write_bytes(pcap(frames))
    df = read(p).set_index("src_port")
    assert df["ja4"].notna().all() and df["ja4"].nunique() == 1
    assert set(df["tls_sni"]) == {"relay.example"} and set(df["service"]) == {"ssl"}
    ctx = ReadContext(stats=FileStats(path=str(p)))
    tr = FastTracker(cap=64, verify=True)
    with open(p, "rb") as fh:
        for b in iter_batches(fh, ctx):
            tr.feed(b, decode(b))
    tr.flush()


# --- every ClientHello of a connection (HelloRetryRequest) ---------------------------------------


def _with_cookie(record: bytes) -> bytes:
    """The client's second ClientHello after a HelloRetryRequest (RFC 8446 4.1.2): the first
    one with the server's cookie extension (44) added."""
    body = record[9:]
    p = 34
    p += 1 + body[p]  # session id
    p += 2 + int.from_bytes(body[p : p + 2], "big")  # cipher suites
    p += 1 + body[p]  # compression methods
    exts = body[p + 2 :] + b"\x00\x2c\x00\x06\x00\x04cook"
    body = body[:p] + len(exts).to_bytes(2, "big") + exts
    msg = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x03" + len(msg).to_bytes(2, "big") + msg


def _spec_ja4_c(ch: ClientHello) -> str:
    """JA4's third part as FoxIO's specification words it: SHA-256 (12 hex digits) of the
    sorted extensions in 4-digit hex without SNI (0000) and ALPN (0010), ``_``, then the
    signature algorithms in their order."""
    import hashlib

    exts = sorted(
        f"{e:04x}" for e in ch.extensions if e not in (0, 0x10) and (e & 0x0F0F) != 0x0A0A
    )
    sig = ",".join(f"{s:04x}" for s in ch.sig_algs)
    return hashlib.sha256(f"{','.join(exts)}_{sig}".encode()).hexdigest()[:12]


def test_ja4_of_the_second_client_hello_after_a_hello_retry_request(tmp_path: Path) -> None:
    """Both ClientHellos are reported in ``ja4_all`` (stream order, ","-joined), by both
    trackers and the compiled one checked against the Python parsers (``verify=True``);
    ``ja4`` stays the first. The second differs by one extension (the cookie): a count one
    higher, the same cipher hash, an extension hash over the list with 002c."""
    from _pcap_build import eth, ip4, pcap, tcp

    from attrib.io.pcap._table import FastTracker

    first = _hello_bytes()
    second = _with_cookie(first)
    ccs = b"\x14\x03\x03\x00\x01\x01"
    hrr = b"\x16\x03\x03\x00\x04\x02\x00\x00\x00"  # stands for the server's flight
    c, s, cli, srv = 1000, 5000, "192.0.2.1", "198.51.100.5"
    a = c + 1 + len(first)
    frames = [eth(p) for p in [
        ip4(cli, srv, 6, tcp(40000, 443, c, 0, 0x02)),
        ip4(srv, cli, 6, tcp(443, 40000, s, c + 1, 0x12)),
        ip4(cli, srv, 6, tcp(40000, 443, c + 1, s + 1, 0x10)),
        ip4(cli, srv, 6, tcp(40000, 443, c + 1, s + 1, 0x18, data=first)),
        ip4(srv, cli, 6, tcp(443, 40000, s + 1, a, 0x18, data=hrr)),
        ip4(cli, srv, 6, tcp(40000, 443, a, s + 1 + len(hrr), 0x18, data=ccs + second)),
    ]]  # fmt: skip
    p = tmp_path / "hrr.pcap"
    p.write_bytes(pcap(frames))
    ch1, ch2 = client_hellos(first + ccs + second)
    j1, j2 = ja4(ch1), ja4(ch2)
    assert j1 != j2 and j1.split("_")[1] == j2.split("_")[1]
    assert int(j2[6:8]) == int(j1[6:8]) + 1 and j2[:6] == j1[:6] and j2[8:10] == j1[8:10]
    assert j1.split("_")[2] == _spec_ja4_c(ch1) and j2.split("_")[2] == _spec_ja4_c(ch2)
    for engine in ("python", "numba"):
        row = read(p, options={"pcap_engine": engine}).iloc[0]
        assert (row["ja4"], row["ja4_all"]) == (j1, f"{j1},{j2}"), engine
    ctx = ReadContext(stats=FileStats(path=str(p)))
    tr = FastTracker(cap=64, verify=True)
    with open(p, "rb") as fh:
        for b in iter_batches(fh, ctx):
            tr.feed(b, decode(b))
    tr.flush()


def test_two_client_hellos_in_one_record_are_both_reported(tmp_path: Path) -> None:
    """Handshake messages may share a record: the compiled tracker must not miss the second."""
    from _pcap_build import eth, handshake, pcap

    first = _hello_bytes()
    second = _with_cookie(first)
    both = first[5:] + second[5:]
    stream = b"\x16\x03\x03" + len(both).to_bytes(2, "big") + both
    p = tmp_path / "two.pcap"
    p.write_bytes(pcap([eth(x) for x in handshake(sp=40000, dp=443, data=stream)]))
    want = ",".join(ja4(c) for c in client_hellos(first + second))
    for engine in ("python", "numba"):
        assert read(p, options={"pcap_engine": engine}).iloc[0]["ja4_all"] == want, engine
