"""Roles flipped by the UDP application analysers Zeek attaches by port (NTP, DNS).

The Python reference of the compiled tracker's ``_fast._app_flip`` / ``_fast._udp_flip``; see
:func:`app_flip` for Zeek's rules and :func:`udp_flip` for what a flip moves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from attrib.io.pcap._conn import Conn

__all__ = ["DNS_PORTS", "NTP_PORT", "app_flip", "udp_flip"]

#: responder ports of the UDP analysers Zeek attaches by port that can flip the roles
NTP_PORT = 123
DNS_PORTS = frozenset({53, 137, 5353, 5355})


def _multicast(addr: str) -> bool:
    if ":" in addr:
        return addr.lower().startswith("ff")
    return 224 <= int(addr.split(".", 1)[0]) <= 239


def app_flip(c: Conn, e: int, buf: bytes, pay: int, end: int, plen: int) -> bool:
    """Whether the UDP application analyser Zeek attaches by port flips the roles here.

    Zeek attaches analysers by the responder port (``analyzer::Manager::
    BuildInitialAnalyzerTree``). NTP (``ntp-analyzer.pac``, ``proc_ntp_message``) flips, once,
    on a server-mode (4) message from the originator or a client-mode (3) one from the
    responder; a message shorter than the 48-byte standard record does not parse. DNS
    (``DNS_Interpreter::ParseMessage``) flips when its first message (12 bytes or more) is a
    response (QR set) from the originator, unless the responder address is multicast.

    Parameters
    ----------
    c
        The UDP connection.
    e
        The sender's side (0 originator).
    buf, pay, end
        The packet buffer, payload offset and end of the captured bytes.
    plen
        UDP payload length.

    Returns
    -------
    bool
        True when the roles flip on this packet.
    """
    rp = c.resp[1]
    n = min(plen, end - pay)
    if rp == NTP_PORT:
        if n < 48:
            return False
        mode = buf[pay] & 7
        c.nflip = (mode == 4 and e == 0) or (mode == 3 and e == 1)
        return c.nflip
    if rp in DNS_PORTS:
        if n < 12:
            return False
        c.nflip = True  # the DNS analyser decides on its first message only
        return e == 0 and bool(buf[pay + 2] & 0x80) and not _multicast(c.resp[0])
    return False


def udp_flip(c: Conn, e: int, iplen: int) -> None:
    """``Connection::FlipRoles`` called by a UDP application analyser.

    In Zeek's ``UDPAnalyzer::DeliverPacket`` the UDP payload size, endpoint state and history
    letter of the packet are recorded first (``UpdateLength``, ``CheckHistory``), then the
    payload goes to the children in order: the application analyser flips the roles
    (addresses and ports swap, ``^`` is appended; ``ConnSize_Analyzer::FlipRoles`` swaps the
    packet and IP byte counters, ``UDPSessionAdapter`` has no ``FlipRoles``, so sizes and
    states stay), and only then does ConnSize count the packet, with its sender's old side.
    """
    c.pkts[e] -= 1
    c.ipb[e] -= iplen
    for v in (c.pkts, c.ipb):
        v[0], v[1] = v[1], v[0]
    c.pkts[e] += 1
    c.ipb[e] += iplen
    c.orig, c.resp = c.resp, c.orig
    c.fwd_is_orig = not c.fwd_is_orig
    c.hist.append("^")
