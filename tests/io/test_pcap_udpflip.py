"""The UDP application analysers' role flips (``attrib.io.pcap._udpflip``), on the reference
tracker's connection object; the compiled tracker's copy is compared with it on captures in
``tests/io/test_pcap_conn.py``."""

from __future__ import annotations

from attrib.io.pcap._conn import Conn
from attrib.io.pcap._udpflip import app_flip, udp_flip


def _conn(orig: tuple[str, int], resp: tuple[str, int]) -> Conn:
    return Conn(17, 6 if ":" in orig[0] else 4, orig, resp, 0, True)


def test_ntp_needs_a_whole_standard_record_and_then_marks_its_flip() -> None:
    c = _conn(("192.0.2.1", 123), ("198.51.100.5", 123))
    server = bytes([0x24]) + bytes(47)
    assert not app_flip(c, 0, server[:47], 0, 47, 47)  # too short to parse: no flip
    assert app_flip(c, 0, server, 0, 48, 48)
    assert c.nflip  # the trackers ask no more once a flip was made (``flipped_``)


def test_dns_decides_on_its_first_message_and_not_towards_multicast() -> None:
    response = b"\x00\x01\x81\x80" + bytes(8)
    c = _conn(("fe80::1", 5353), ("ff02::fb", 5353))
    assert not app_flip(c, 0, response, 0, 12, 12) and c.nflip
    c = _conn(("192.0.2.1", 137), ("192.0.2.9", 137))
    assert not app_flip(c, 0, response[:11], 0, 11, 11) and not c.nflip  # no header yet
    assert app_flip(c, 0, response, 0, 12, 12)


def test_a_flip_moves_the_addresses_and_packet_counters_not_the_sizes() -> None:
    c = _conn(("192.0.2.1", 123), ("198.51.100.5", 123))
    c.pkts, c.ipb, c.size, c.udp_seen = [1, 0], [76, 0], [48, 0], [True, False]
    udp_flip(c, 0, 76)
    assert (c.orig, c.resp) == (("198.51.100.5", 123), ("192.0.2.1", 123))
    assert (c.pkts, c.ipb, c.size, c.udp_seen) == ([1, 0], [76, 0], [48, 0], [True, False])
    assert c.hist == ["^"] and c.fwd_is_orig is False
