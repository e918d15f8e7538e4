"""Small classic pcaps (Ethernet/IPv4/TCP) of TLS handshakes at the organisation's sensor.

Each connection is a real TCP exchange: the client's SYN with its OS stack's TTL, window, MSS
and options; the server's SYN-ACK; the client's ACK one transport RTT later; a ClientHello
built by :func:`attrib.simulate._profiles.client_hello`; the server's flight; the client's next
flight one *application* RTT later (through a relay chain, the far end of the TLS session is the
operator, so application RTT >> transport RTT to the exit); FINs.
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path
from typing import Any

import numpy as np

from attrib.simulate._profiles import STACKS, client_hello

__all__ = ["PcapWriter"]

_SRV_MAC, _CLI_MAC = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def _options(letters: str, mss: int, wscale: int | None, tsval: int) -> bytes:
    out = b""
    for ch in letters:
        if ch == "M":
            out += struct.pack("!BBH", 2, 4, mss)
        elif ch == "N":
            out += b"\x01"
        elif ch == "W":
            out += struct.pack("!BBB", 3, 3, wscale or 0)
        elif ch == "S":
            out += b"\x04\x02"
        elif ch == "T":
            out += struct.pack("!BBII", 8, 10, tsval, 0)
        elif ch == "E":
            out += b"\x00"
    return out + b"\x00" * (-len(out) % 4)


class PcapWriter:
    """Write TLS handshakes to a classic (microsecond, Ethernet) pcap file.

    Parameters
    ----------
    path
        Target file.
    rng
        Random generator.
    """

    def __init__(self, path: Path, rng: np.random.Generator) -> None:
        self._fh = path.open("wb")
        self._fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.rng = rng
        self.connections = 0

    def _packet(
        self,
        ts: float,
        src: str,
        dst: str,
        sport: int,
        dport: int,
        seq: int,
        ack: int,
        flags: int,
        payload: bytes = b"",
        *,
        ttl: int = 64,
        window: int = 64240,
        opts: bytes = b"",
        ipid: int = 0,
        df: bool = True,
    ) -> None:
        s, d = socket.inet_aton(src), socket.inet_aton(dst)
        off = (20 + len(opts)) // 4
        tcp = (
            struct.pack(
                "!HHIIBBHHH",
                sport,
                dport,
                seq & 0xFFFFFFFF,
                ack & 0xFFFFFFFF,
                off << 4,
                flags,
                window,
                0,
                0,
            )
            + opts
        )
        pseudo = s + d + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
        c = _csum(pseudo + tcp + payload)
        tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
        total = 20 + len(tcp) + len(payload)
        ip = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, total, ipid, 0x4000 if df else 0, ttl, 6, 0, s, d
        )
        ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
        frame = _SRV_MAC + _CLI_MAC + b"\x08\x00" + ip + tcp + payload
        if len(frame) < 60:
            frame += b"\x00" * (60 - len(frame))
        sec = int(ts)
        self._fh.write(
            struct.pack("<IIII", sec, int(round((ts - sec) * 1e6)), len(frame), len(frame))
        )
        self._fh.write(frame)

    def handshake(
        self,
        ts: float,
        client: str,
        server: str,
        stack: str,
        hops: int,
        hello: str,
        sni: str,
        rtt_ms: float,
        app_rtt_ms: float,
    ) -> None:
        """Write one TLS connection.

        Parameters
        ----------
        ts
            SYN time (epoch seconds).
        client, server
            Addresses.
        stack
            Client's TCP stack (key of :data:`attrib.simulate._profiles.STACKS`).
        hops
            Router hops between client and sensor (lowers the observed TTL).
        hello
            ClientHello profile.
        sni
            Server name.
        rtt_ms
            Transport RTT between the sensor and the client address.
        app_rtt_ms
            RTT to the TLS peer that answers the server's flight.
        """
        st = STACKS[stack]
        r = self.rng
        sport = int(
            r.integers(49152, 65535) if stack in ("windows", "macos") else r.integers(32768, 61000)
        )
        cseq, sseq = int(r.integers(0, 2**32)), int(r.integers(0, 2**32))
        ttl = st.ttl - hops
        ipid = 0 if stack == "linux_embedded" else int(r.integers(0, 65535))
        tsval = int(r.integers(1, 2**31)) if "T" in st.options else 0
        syn_opts = _options(st.options, st.mss, st.wscale, tsval)
        t_rtt, a_rtt = rtt_ms / 1000, app_rtt_ms / 1000
        cw: dict[str, Any] = {"ttl": ttl, "window": st.window, "df": st.df}
        self._packet(ts, client, server, sport, 443, cseq, 0, 0x02, opts=syn_opts, ipid=ipid, **cw)
        sa_opts = _options("MSTNW", 1460, 7, int(r.integers(1, 2**31)))
        self._packet(
            ts + 0.00005,
            server,
            client,
            443,
            sport,
            sseq,
            cseq + 1,
            0x12,
            opts=sa_opts,
            ttl=64,
            window=65160,
        )
        t = ts + t_rtt
        self._packet(t, client, server, sport, 443, cseq + 1, sseq + 1, 0x10, ipid=ipid + 1, **cw)
        ch = client_hello(hello, sni, r.bytes(64))
        t += 0.0008 + (a_rtt - t_rtt if a_rtt > t_rtt * 1.5 else 0.0)
        self._packet(
            t, client, server, sport, 443, cseq + 1, sseq + 1, 0x18, ch, ipid=ipid + 2, **cw
        )
        flight = (
            b"\x16\x03\x03\x00\x5a\x02\x00\x00\x56\x03\x03"
            + r.bytes(32)
            + b"\x20"
            + r.bytes(32)
            + b"\x13\x01\x00\x00\x2e\x00\x2b\x00\x02\x03\x04\x00\x33\x00\x24\x00\x1d\x00\x20"
            + r.bytes(32)
            + b"\x14\x03\x03\x00\x01\x01"
            + b"\x17\x03\x03\x04\x00"
            + r.bytes(1024)
        )
        t += 0.0004
        self._packet(
            t,
            server,
            client,
            443,
            sport,
            sseq + 1,
            cseq + 1 + len(ch),
            0x18,
            flight,
            ttl=64,
            window=502,
        )
        fin = b"\x14\x03\x03\x00\x01\x01" + b"\x17\x03\x03\x00\x35" + r.bytes(53)
        t += a_rtt
        cs = cseq + 1 + len(ch)
        ss = sseq + 1 + len(flight)
        self._packet(t, client, server, sport, 443, cs, ss, 0x18, fin, ipid=ipid + 3, **cw)
        t += 0.0003
        self._packet(t, server, client, 443, sport, ss, cs + len(fin), 0x11, ttl=64, window=502)
        t += t_rtt
        self._packet(
            t, client, server, sport, 443, cs + len(fin), ss + 1, 0x11, ipid=ipid + 4, **cw
        )
        self._packet(
            t + 0.00005,
            server,
            client,
            443,
            sport,
            ss + 1,
            cs + len(fin) + 1,
            0x10,
            ttl=64,
            window=502,
        )
        self.connections += 1

    def close(self) -> None:
        """Close the file."""
        self._fh.close()
