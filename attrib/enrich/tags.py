"""Special-use and confounder tags for addresses.

Special-use ranges (RFC 6890 and friends) are fixed and built in: ``private``, ``cgnat``
(100.64.0.0/10), ``loopback``, ``link_local``, ``documentation``, ``multicast``, ``bogon``
(reserved/unallocated special space), ``6to4`` and ``teredo``. Confounder tags come from the
bundled list snapshots (``data/enrich/tags_v4.parquet``/``tags_v6.parquet``): ``private_relay``
(iCloud Private Relay egress), ``tor_exit``, ``cloud`` with ``cloud:<provider>``, ``vpn`` and
``datacenter``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

import numpy as np

from attrib.enrich._index import I32, K16, U32, RangeIndex, ints_to_v6_keys

__all__ = ["SPECIAL_RANGES", "TAG_NAMES", "build_tag_index", "special_index"]

#: Every tag enrichment may emit (``cloud:<provider>`` tags come on top of ``cloud``).
TAG_NAMES: tuple[str, ...] = (
    "private", "cgnat", "loopback", "link_local", "documentation", "multicast", "bogon",
    "6to4", "teredo", "private_relay", "tor_exit", "cloud", "vpn", "datacenter",
)  # fmt: skip

#: (CIDR, tag) of special-use space.
SPECIAL_RANGES: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "bogon"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "cgnat"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link_local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "bogon"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "bogon"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "bogon"),
    ("::/128", "bogon"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "private"),
    ("100::/64", "bogon"),
    ("2001::/32", "teredo"),
    ("2001:2::/48", "bogon"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("2002::/16", "6to4"),
    ("fc00::/7", "private"),
    ("fe80::/10", "link_local"),
    ("fec0::/10", "bogon"),
    ("ff00::/8", "multicast"),
)


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1] + 1:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def _family_index(
    by_label: dict[int, list[tuple[int, int]]], v6: bool
) -> tuple[U32 | K16, I32, list[frozenset[int]]]:
    top = (1 << 128) if v6 else (1 << 32)
    merged = {lab: _merge(iv) for lab, iv in by_label.items() if iv}
    bounds = {0}
    for iv in merged.values():
        for s, e in iv:
            bounds.add(s)
            if e + 1 < top:
                bounds.add(e + 1)
    b = sorted(bounds)
    conv = ints_to_v6_keys if v6 else (lambda xs: np.asarray(xs, dtype=np.int64))
    bk = conv(b)
    member = np.zeros((len(b), max(by_label, default=-1) + 1), dtype=bool)
    for lab, iv in merged.items():
        st = conv([s for s, _ in iv])
        en = conv([e for _, e in iv])
        i = np.searchsorted(st, bk, side="right") - 1
        ok = i >= 0
        ok[ok] = np.less_equal(bk[ok], en[i[ok]])
        member[:, lab] = ok
    combos: dict[frozenset[int], int] = {}
    values = np.full(len(b), -1, dtype=np.int32)
    for j in range(len(b)):
        labs = frozenset(np.flatnonzero(member[j]).tolist())
        if labs:
            values[j] = combos.setdefault(labs, len(combos))
    keep = np.insert(values[1:] != values[:-1], 0, True)
    starts = bk[keep].astype("S16") if v6 else bk[keep].astype(np.uint32)
    return starts, values[keep], list(combos)


def build_tag_index(
    entries: Iterable[tuple[str, str]],
) -> tuple[RangeIndex, list[str]]:
    """Compile (CIDR or address, tag) pairs, possibly overlapping, into a range index.

    Parameters
    ----------
    entries
        ``(network, tag)`` pairs; a network may be ``a.b.c.d``, ``a.b.c.d/n`` or IPv6 forms.

    Returns
    -------
    tuple
        ``(index, tag_sets)``: the index's values point into ``tag_sets``, each a
        comma-separated, sorted tag string.
    """
    labels: dict[str, int] = {}
    v4: dict[int, list[tuple[int, int]]] = {}
    v6: dict[int, list[tuple[int, int]]] = {}
    for net_text, tag in entries:
        net = ipaddress.ip_network(net_text.strip(), strict=False)
        lab = labels.setdefault(tag, len(labels))
        fam = v4 if net.version == 4 else v6
        fam.setdefault(lab, []).append((int(net.network_address), int(net.broadcast_address)))
    names = list(labels)
    s4, val4, c4 = _family_index(v4, v6=False)
    s6, val6, c6 = _family_index(v6, v6=True)
    sets: list[str] = []
    seen: dict[str, int] = {}
    remap4 = np.array(
        [seen.setdefault(_tag_text(c, names), len(seen)) for c in c4] + [-1], dtype=np.int32
    )
    remap6 = np.array(
        [seen.setdefault(_tag_text(c, names), len(seen)) for c in c6] + [-1], dtype=np.int32
    )
    sets = list(seen)
    idx = RangeIndex(
        s4.astype(np.uint32),
        remap4[val4],
        s6.astype("S16"),
        remap6[val6],  # -1 maps to -1
    )
    return idx, sets


def _tag_text(labs: frozenset[int], names: Sequence[str]) -> str:
    tags = {names[i] for i in labs}
    if any(t.startswith("cloud:") for t in tags):
        tags.add("cloud")
    return ",".join(sorted(tags))


_SPECIAL: tuple[RangeIndex, list[str]] | None = None


def special_index() -> tuple[RangeIndex, list[str]]:
    """The compiled index of :data:`SPECIAL_RANGES` (built once)."""
    global _SPECIAL
    if _SPECIAL is None:
        _SPECIAL = build_tag_index(SPECIAL_RANGES)
    return _SPECIAL
