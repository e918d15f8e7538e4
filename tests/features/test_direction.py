"""Inbound, outbound or both: which side of a connection is the origin."""

from __future__ import annotations

import pandas as pd
import pytest

from attrib.context import OrgContext
from attrib.features import OriginAccumulator
from attrib.features.direction import (
    DirectedAccumulator,
    DirectionCounts,
    PeerHosts,
    infer_direction,
    no_origins_reason,
    orient,
)

from .conftest import conn, make_events, signin

CTX = OrgContext()


def _out(ts: str, host: str, peer: str, **kw: object) -> dict[str, object]:
    """An internal host connecting out to a public peer."""
    row = conn(ts, host, dst=peer, port=8443, src_port=50000, bytes_out=100, bytes_in=5000,
               pkts_out=3, pkts_in=7, history="ShADadFf", ja4="t13d_client",
               user_agent="implant/1", tls_sni="relay.example", rtt_syn_ms=40.0)  # fmt: skip
    row.update(kw)
    return row


def test_outbound_turns_connections_around_and_drops_client_traits() -> None:
    ev = make_events([
        _out("2024-01-01T00:00:00Z", "10.0.0.5", "203.0.113.7"),
        conn("2024-01-01T00:00:01Z", "198.51.100.9", dst="10.0.0.5"),  # inbound: dropped
        conn("2024-01-01T00:00:02Z", "10.0.0.5", dst="10.0.0.6"),  # internal: dropped
    ])  # fmt: skip
    out = orient(ev, "outbound", CTX)
    assert len(out) == 1
    r = out.iloc[0]
    assert (r.src_ip, r.dst_ip, r.src_port, r.dst_port) == ("203.0.113.7", "10.0.0.5", 8443, 50000)
    assert (r.bytes_out, r.bytes_in, r.pkts_out, r.pkts_in) == (5000, 100, 7, 3)
    assert r.history == "sHadADfF" and r.tls_sni == "relay.example"
    assert pd.isna(r.ja4) and pd.isna(r.user_agent) and pd.isna(r.rtt_syn_ms)
    assert list(out.columns) == list(ev.columns)
    assert orient(ev, "inbound", CTX) is ev


def test_both_keeps_inbound_rows_and_adds_turned_outbound_rows() -> None:
    ev = make_events([
        _out("2024-01-01T00:00:00Z", "10.0.0.5", "203.0.113.7"),
        conn("2024-01-01T00:00:01Z", "198.51.100.9", dst="10.0.0.5"),
    ])  # fmt: skip
    both = orient(ev, "both", CTX)
    assert list(both["src_ip"]) == ["10.0.0.5", "198.51.100.9", "203.0.113.7"]


def test_office_egress_counts_as_internal_for_outbound() -> None:
    ctx = OrgContext.from_dict({"offices": ["198.51.100.0/24"]})
    ev = make_events([_out("2024-01-01T00:00:00Z", "198.51.100.4", "203.0.113.7")])
    assert list(orient(ev, "outbound", ctx)["src_ip"]) == ["203.0.113.7"]
    assert orient(ev, "outbound", CTX).empty  # without the office, both ends are public


def _counts(rows: list[dict[str, object]]) -> DirectionCounts:
    c = DirectionCounts()
    c.add(make_events(rows), CTX)
    return c


def test_inference() -> None:
    outbound = [_out(f"2024-01-01T00:00:{i:02d}Z", "10.0.0.5", "203.0.113.7") for i in range(50)]
    assert infer_direction(_counts(outbound)) == "outbound"
    inbound = [conn("2024-01-01T01:00:00Z", "198.51.100.9", dst="10.0.0.5")]
    assert infer_direction(_counts(outbound + inbound)) == "inbound"  # 2% in: a perimeter
    many = outbound * 2 + inbound  # 1 in 101: still an outbound capture
    assert infer_direction(_counts(many)) == "outbound"
    ident = [signin("2024-01-01T02:00:00Z", "198.51.100.9", "u@example.com")]
    assert infer_direction(_counts(outbound * 2 + ident)) == "inbound"
    assert infer_direction(_counts([])) == "inbound"


def test_no_origins_reasons() -> None:
    outbound = _counts([_out("2024-01-01T00:00:00Z", "10.0.0.5", "203.0.113.7")])
    assert "--direction outbound" in no_origins_reason(outbound, "inbound")
    internal = _counts([conn("2024-01-01T00:00:00Z", "10.0.0.5", dst="10.0.0.6")])
    assert "between internal addresses" in no_origins_reason(internal, "inbound")
    no_ts = _counts([conn(None, "198.51.100.9")])  # type: ignore[arg-type]
    assert "timestamp" in no_origins_reason(no_ts, "inbound")
    inbound = _counts([conn("2024-01-01T00:00:00Z", "198.51.100.9", dst="10.0.0.5")])
    assert "--direction inbound" in no_origins_reason(inbound, "outbound")
    assert "no events" in no_origins_reason(DirectionCounts(), "inbound")


def test_peer_hosts_lists_internal_hosts_per_peer() -> None:
    p = PeerHosts()
    rows = [_out("2024-01-01T00:00:00Z", f"10.0.0.{i}", "203.0.113.7") for i in range(12, 0, -1)]
    rows.append(_out("2024-01-01T00:00:00Z", "10.0.0.1", "203.0.113.8"))
    p.add(orient(make_events(rows), "outbound", CTX))
    t = p.table().set_index("ip")
    assert t.loc["203.0.113.7", "n_internal_hosts"] == 12
    assert t.loc["203.0.113.7", "internal_hosts"].split("; ")[:2] == ["10.0.0.1", "10.0.0.10"]
    assert len(t.loc["203.0.113.7", "internal_hosts"].split("; ")) == 10
    assert t.loc["203.0.113.8", "internal_hosts"] == "10.0.0.1"


class _Note:
    def __init__(self) -> None:
        self.rows = 0

    def note(self, chunk: pd.DataFrame) -> None:
        self.rows += len(chunk)


@pytest.mark.parametrize("direction", [None, "outbound"])
def test_directed_accumulator_equals_orienting_first(direction: str | None) -> None:
    rows = [_out(f"2024-01-0{1 + i % 3}T0{i % 9}:00:00Z", f"10.0.0.{i % 4}",
                 f"203.0.113.{i % 5}") for i in range(40)]  # fmt: skip
    ev = make_events(rows)
    d = DirectedAccumulator(CTX, direction, lambda: OriginAccumulator(CTX), _Note)
    for i in range(0, 40, 7):
        d.update(ev.iloc[i : i + 7].reset_index(drop=True))
    assert d.direction == "outbound"
    acc, note = d.chosen()
    want = OriginAccumulator(CTX).update(orient(ev, "outbound", CTX)).result()
    got = acc.result()
    assert note.rows == 40 and len(got) == 5
    pd.testing.assert_frame_equal(got, want)
