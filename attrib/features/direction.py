"""Which side of a connection is the origin: inbound, outbound, or both.

*Inbound* (the default for a perimeter or identity view): the public sources that reach the
organisation are the origins. *Outbound* (a capture of internal hosts, e.g. an implant beaconing
to its relay nodes): the public peers that internal hosts reach are the origins; each such
connection is turned around so the peer sits in ``src_ip`` and the same enrichment, features,
clustering and scoring apply. *Both*: the union (every inbound row, plus every outbound row
turned around).

Turned-around rows keep what describes the peer or the connection (``tls_sni``, ``service``,
``duration``, ``conn_state``, ``ts``; byte, packet and port columns are swapped, ``history``
letters swap case as Zeek's originator/responder convention needs) and drop what describes the
internal client (JA4/JA3, User-Agent, TCP SYN fingerprint, SSH client, tunnel hints, RTTs): those
features are left null for outbound origins rather than credited to the peer.

An address is *internal* when it cannot be an origin (private, CGNAT-internal, loopback,
link-local, multicast, reserved, the organisation's services) or lies in the organisation's
offices; a *peer* is any other address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from attrib.context import OrgContext
from attrib.features._common import IDENTITY_SOURCES, origin_eligible

__all__ = [
    "DIRECTIONS",
    "DirectedAccumulator",
    "DirectionCounts",
    "PeerHosts",
    "infer_direction",
    "no_origins_reason",
    "orient",
]

DIRECTIONS = ("inbound", "outbound", "both")
#: Share of boundary-crossing connections that must be outbound to infer ``outbound``.
OUTBOUND_SHARE = 0.99
#: Internal hosts listed per peer (the count is kept in full).
MAX_HOSTS_LISTED = 10

_SWAP = (("src_ip", "dst_ip"), ("src_port", "dst_port"), ("bytes_out", "bytes_in"),
         ("pkts_out", "pkts_in"), ("ip_bytes_out", "ip_bytes_in"))  # fmt: skip
#: client-side traits: they describe the internal host, not the peer
_CLIENT_SIDE = ("ja4", "ja3", "user_agent", "tcp_fp", "tcp_os", "tunnel_hint", "hassh",
                "ssh_client", "rtt_syn_ms", "rtt_ack_ms", "rtt_app_ms", "user")  # fmt: skip


class _Sides:
    """Per-address classification (internal / peer), cached: vectorised over unique values."""

    def __init__(self, context: OrgContext) -> None:
        self.context = context
        self._cache: dict[str, tuple[bool, bool]] = {}

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the cache: a worker's state travels, the cache is rebuilt where used."""
        return {"context": self.context, "_cache": {}}

    def _one(self, ip: str) -> tuple[bool, bool]:
        got = self._cache.get(ip)
        if got is None:
            try:
                a = ipaddress.ip_address(ip)
            except ValueError:
                got = (False, False)
            else:
                office = any(a in n for n in self.context.offices)
                eligible = origin_eligible(ip, self.context)
                got = (office or not eligible, eligible and not office)
            if len(self._cache) < 1 << 20:
                self._cache[ip] = got
        return got

    def classify(self, s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """``(internal, peer)`` boolean arrays for an address column (null: neither)."""
        codes, uniq = pd.factorize(s.astype(object).where(s.notna(), None), use_na_sentinel=True)
        flags = np.array([self._one(str(u)) for u in uniq] + [(False, False)], dtype=bool)
        flags = flags.reshape(-1, 2)
        f = flags[codes]
        return f[:, 0], f[:, 1]


def _is_identity(events: pd.DataFrame) -> np.ndarray:
    src = events["source"].astype("string").fillna("")
    ident = src.isin(IDENTITY_SOURCES) | (events["dst_ip"].isna() & events["user"].notna())
    return ident.to_numpy(dtype=bool)


def _outbound_mask(events: pd.DataFrame, sides: _Sides) -> np.ndarray:
    src_in, _ = sides.classify(events["src_ip"])
    _, dst_peer = sides.classify(events["dst_ip"])
    return src_in & dst_peer & ~_is_identity(events)


def _turned(rows: pd.DataFrame) -> pd.DataFrame:
    out = rows.copy()
    for a, b in _SWAP:
        if a in out.columns and b in out.columns:
            out[a], out[b] = rows[b].to_numpy(), rows[a].to_numpy()
    if "history" in out.columns:
        out["history"] = (
            rows["history"].astype("string").str.swapcase().astype(rows["history"].dtype)
        )
    for c in _CLIENT_SIDE:
        if c in out.columns:
            out[c] = pd.Series(pd.NA, index=out.index, dtype=rows[c].dtype)
    return out


def orient(
    events: pd.DataFrame, direction: str, context: OrgContext, *, _sides: _Sides | None = None
) -> pd.DataFrame:
    """The events as the chosen direction sees them (origins in ``src_ip``).

    Parameters
    ----------
    events
        Canonical events.
    direction
        ``"inbound"`` (unchanged), ``"outbound"`` (only connections from internal hosts to
        peers, turned around) or ``"both"`` (all rows plus the outbound ones turned around).
    context
        The organisation (offices and services decide what is internal).

    Returns
    -------
    pandas.DataFrame
        A new frame with a range index (``events`` itself for inbound).
    """
    if direction == "inbound" or events.empty:
        return events
    out_rows = events[_outbound_mask(events, _sides or _Sides(context))]
    turned = _turned(out_rows)
    if direction == "outbound":
        return turned.reset_index(drop=True)
    return pd.concat([events, turned], ignore_index=True)


@dataclass
class DirectionCounts:
    """What the data looks like from the boundary: the evidence for :func:`infer_direction`."""

    events: int = 0
    no_ts: int = 0
    identity: int = 0  # sign-in/audit rows from an origin-eligible address
    inbound: int = 0  # connections from a peer
    outbound: int = 0  # connections from an internal host to a peer
    internal_only: int = 0  # connections between internal addresses
    _sides: _Sides | None = field(default=None, repr=False)

    def add(self, events: pd.DataFrame, context: OrgContext) -> None:
        """Count one chunk."""
        if self._sides is None:
            self._sides = _Sides(context)
        if events.empty:
            return
        self.events += len(events)
        self.no_ts += int(events["ts"].isna().sum())
        ident = _is_identity(events)
        src_in, src_peer = self._sides.classify(events["src_ip"])
        dst_in, dst_peer = self._sides.classify(events["dst_ip"])
        self.identity += int((ident & src_peer).sum())
        conn = ~ident
        self.inbound += int((conn & src_peer).sum())
        self.outbound += int((conn & src_in & dst_peer).sum())
        self.internal_only += int((conn & src_in & dst_in).sum())

    def merge(self, other: DirectionCounts) -> DirectionCounts:
        """Add another part's counts to these (in place); return ``self``."""
        for name in ("events", "no_ts", "identity", "inbound", "outbound", "internal_only"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    def as_dict(self) -> dict[str, int]:
        """Plain counts for ``run.json``."""
        return {"events": self.events, "without_timestamp": self.no_ts,
                "identity": self.identity, "inbound": self.inbound, "outbound": self.outbound,
                "internal_only": self.internal_only}  # fmt: skip


def infer_direction(counts: DirectionCounts) -> str:
    """``"outbound"`` when the data is (almost) only internal hosts reaching peers, else inbound.

    Identity events are inbound by nature; otherwise outbound is inferred when at least
    :data:`OUTBOUND_SHARE` of the connections that cross the boundary leave an internal host.

    Parameters
    ----------
    counts
        The counts over the analysed events.

    Returns
    -------
    str
        ``"inbound"`` or ``"outbound"``.
    """
    if counts.identity or not counts.outbound:
        return "inbound"
    share = counts.outbound / (counts.outbound + counts.inbound)
    return "outbound" if share >= OUTBOUND_SHARE else "inbound"


def no_origins_reason(counts: DirectionCounts, direction: str) -> str:
    """Why a run over these events found no origin, in one sentence.

    Parameters
    ----------
    counts
        The counts over the analysed events.
    direction
        The direction the run used.

    Returns
    -------
    str
        The reason.
    """
    n = counts.events
    if not n:
        return "no events were read (see the files not used or skipped above)"
    if counts.no_ts == n:
        return (f"none of the {n:,} events has a timestamp (e.g. Zeek btest logs mask them); "
                "origins need first/last-seen times")  # fmt: skip
    if direction == "outbound":
        if not counts.outbound:
            return (f"no connection goes from an internal host to a public address "
                    f"({counts.inbound:,} come in from public addresses: try --direction "
                    "inbound)")  # fmt: skip
        return "every outbound connection lacks a timestamp"
    if counts.outbound:
        return (f"no event comes from a public address; {counts.outbound:,} connection(s) go "
                "from internal hosts to public addresses: this looks like an outbound capture, "
                "try --direction outbound")  # fmt: skip
    if counts.internal_only:
        return (f"all {counts.internal_only:,} connections are between internal addresses "
                "(private, reserved or the organisation's own)")  # fmt: skip
    return f"none of the {n:,} events names a public source address"


class PeerHosts:
    """The internal hosts that reached each peer (from turned-around rows: ``dst_ip``)."""

    def __init__(self) -> None:
        self._pairs: list[pd.DataFrame] = []

    def add(self, turned: pd.DataFrame) -> None:
        """Record the (peer, internal host) pairs of turned-around rows."""
        if len(turned):
            p = turned[["src_ip", "dst_ip"]].dropna().drop_duplicates()
            self._pairs.append(p)
            if len(self._pairs) > 64:
                self._pairs = [pd.concat(self._pairs, ignore_index=True).drop_duplicates()]

    def merge(self, other: PeerHosts) -> PeerHosts:
        """Add another part's pairs to these (in place); return ``self``."""
        self._pairs.extend(other._pairs)
        if len(self._pairs) > 64:
            self._pairs = [pd.concat(self._pairs, ignore_index=True).drop_duplicates()]
        return self

    def table(self) -> pd.DataFrame:
        """One row per peer: ``ip``, ``internal_hosts``, ``n_internal_hosts``.

        ``internal_hosts`` lists up to :data:`MAX_HOSTS_LISTED` of them, sorted, ``;``-joined.
        """
        if not self._pairs:
            return pd.DataFrame({"ip": pd.Series([], dtype="string"),
                                 "internal_hosts": pd.Series([], dtype="string"),
                                 "n_internal_hosts": pd.Series([], dtype="Int64")})  # fmt: skip
        p = pd.concat(self._pairs, ignore_index=True).drop_duplicates()
        p = p.astype({"src_ip": str, "dst_ip": str})
        g = p.sort_values(["src_ip", "dst_ip"]).groupby("src_ip", sort=True)["dst_ip"]
        listed = g.apply(lambda s: "; ".join(s.head(MAX_HOSTS_LISTED)))
        out = pd.DataFrame({"ip": listed.index.astype(str), "internal_hosts": listed.to_numpy(),
                            "n_internal_hosts": g.size().to_numpy()})  # fmt: skip
        return out.astype({"ip": "string", "internal_hosts": "string",
                           "n_internal_hosts": "Int64"})  # fmt: skip


class DirectedAccumulator:
    """Feed chunks to origin accumulators as the chosen (or inferred) direction sees them.

    With ``direction=None`` both the inbound and the outbound view are accumulated, and the one
    :func:`infer_direction` picks at the end is kept: a single reading pass, at the cost of a
    second set of aggregates.

    Parameters
    ----------
    context
        The organisation.
    direction
        ``"inbound"``, ``"outbound"``, ``"both"``, or None to infer.
    make_accumulator
        Returns a fresh accumulator (``update(chunk)``).
    make_note
        Returns a fresh recorder of what each view's chunks hold (``note(chunk)``).
    """

    def __init__(
        self,
        context: OrgContext,
        direction: str | None,
        make_accumulator: Callable[[], Any],
        make_note: Callable[[], Any],
    ) -> None:
        self.context = context
        self.requested = direction
        wanted = [direction] if direction else ["inbound", "outbound"]
        self.views = {d: (make_accumulator(), make_note()) for d in wanted}
        self.counts = DirectionCounts()
        self.peers = PeerHosts()
        self._sides = _Sides(context)  # one address cache for the whole read
        self.counts._sides = self._sides

    def update(self, chunk: pd.DataFrame) -> DirectedAccumulator:
        """Fold one chunk into every view."""
        self.counts.add(chunk, self.context)
        for d, (acc, note) in self.views.items():
            view = orient(chunk, d, self.context, _sides=self._sides)
            if len(view):
                acc.update(view)
                note.note(view)
            if d != "inbound":
                turned = view if d == "outbound" else view.iloc[len(chunk) :]
                self.peers.add(turned)
        return self

    def merge(self, other: DirectedAccumulator) -> DirectedAccumulator:
        """Fold the state another part built (same context and direction) into this one.

        Every view's accumulator and recorder must have a ``merge(other)`` method.
        """
        if self.views.keys() != other.views.keys():
            raise ValueError("cannot merge accumulators of different directions")
        for d, (acc, note) in self.views.items():
            o_acc, o_note = other.views[d]
            acc.merge(o_acc)
            note.merge(o_note)
        self.counts.merge(other.counts)
        self.peers.merge(other.peers)
        return self

    @property
    def direction(self) -> str:
        """The direction used: the requested one, or the inferred one."""
        return self.requested or infer_direction(self.counts)

    def chosen(self) -> tuple[Any, Any]:
        """The accumulator and the recorder of :attr:`direction`."""
        return self.views[self.direction]

    def reclassified(self, context: OrgContext, counts: DirectionCounts) -> int | None:
        """How many addresses seen would change class under ``context`` (None: unknown).

        What the accumulation did depends on the context only through which source addresses
        are origins and, for a turned-around view, which side every address sits on.

        Parameters
        ----------
        context
            Another context (e.g. completed by inference after the pass).
        counts
            The direction evidence as ``context`` sees it (decides the view used).

        Returns
        -------
        int or None
            0 when the pass under ``context`` would have been the same.
        """
        way = self.requested or infer_direction(counts)
        if way not in self.views:
            return None
        acc = self.views[way][0]
        changed = sum(origin_eligible(v, context) != e
                      for v, e in zip(acc._ip.values, acc._eligible, strict=True))  # fmt: skip
        if way != "inbound":  # the turned-around rows depend on every address's side
            if len(self._sides._cache) >= 1 << 20:
                return None
            again = _Sides(context)
            changed += sum(again._one(ip) != got for ip, got in self._sides._cache.items())
        return changed

    def adopt(self, context: OrgContext, counts: DirectionCounts) -> None:
        """Use ``context`` from here on (after :meth:`reclassified` returned 0)."""
        self.context = context
        self.counts = counts
        self._sides = counts._sides if counts._sides is not None else _Sides(context)
        for acc, _ in self.views.values():
            acc.context = context
