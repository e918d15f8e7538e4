"""Combine two accumulators' states: what a worker folded, merged into what another folded.

Each accumulator codes its strings (origins, accounts, trait values, hosts, services, client
apps, mailboxes) in its own :class:`~attrib.features._common.Vocab`, in order of first
appearance. Merging ``b`` into ``a`` re-codes ``b``'s strings through ``a``'s vocabularies
(appending the new ones in ``b``'s order) and then appends ``b``'s partial tables, re-coded, to
``a``'s. The merged state is the state a single accumulator reaches on ``a``'s input followed by
``b``'s: same codes in the same order, same partial rows (the group-bys keep first-appearance
order), so merging is associative and ``result()`` does not depend on how the input was split.

:data:`CODED` declares which partial-table column holds codes of which vocabulary: a new coded
column must be listed there (``tests/features/test_merge.py`` fails otherwise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from attrib.features._common import Vocab
from attrib.features.partials import TRAITS

if TYPE_CHECKING:
    from attrib.features.accumulator import OriginAccumulator
    from attrib.features.tokens import TokenAccumulator

__all__ = ["CODED", "TOKEN_CODED", "merge_origin", "merge_tokens"]

#: partial table -> {column: vocabulary} for :class:`OriginAccumulator` ("trait:k" = the k-th
#: trait's vocabulary, chosen per row by the ``trait`` column; "ua" = the ``ua`` trait's).
CODED: dict[str, dict[str, str]] = {
    "ip": {"ip": "ip"},
    "day": {"ip": "ip"},
    "acct": {"ip": "ip", "user": "user"},
    "acct_ua": {"ip": "ip", "user": "user", "ua": "ua"},
    "host": {"ip": "ip", "host": "host"},
    "svc": {"ip": "ip", "svc": "svc"},
    "trait": {"ip": "ip", "value": "trait:k"},
    "rtt": {"ip": "ip"},
    "access": {"ip": "ip", "user": "user"},
    "travel": {"ip": "ip", "user": "user"},
}
#: the same for :class:`attrib.features.tokens.TokenAccumulator` (``tok`` is a hash, not a code).
TOKEN_CODED: dict[str, dict[str, str]] = {
    "pairs": {"ip": "ip", "user": "user"},
    "hours": {"ip": "ip", "user": "user"},
    "tokens": {"ip": "ip"},
    "apps": {"app": "app", "ip": "ip", "user": "user"},
    "mailboxes": {"ip": "ip", "mbx": "mbx"},
}


def _lut(into: Vocab, other: Vocab) -> np.ndarray:
    """``other``'s code -> ``into``'s code (adding ``other``'s new values, in its order)."""
    if not len(other):
        return np.zeros(0, dtype=np.int64)
    return into.encode(pd.Series(other.values, dtype=object))


def _recode(part: pd.DataFrame, cols: dict[str, np.ndarray]) -> pd.DataFrame:
    """A copy of a partial table with its coded columns mapped through ``cols``' tables."""
    out = part.copy()
    for col, lut in cols.items():
        codes = part[col].to_numpy(dtype=np.int64)
        out[col] = pd.Series(lut[codes], index=part.index, dtype=part[col].dtype)
    return out


def _recode_traits(tr: pd.DataFrame, luts: list[np.ndarray]) -> np.ndarray:
    value = tr["value"].to_numpy(dtype=np.int64)
    trait = tr["trait"].to_numpy(dtype=np.int64)
    out = value.copy()
    for k, lut in enumerate(luts):
        m = trait == k
        out[m] = lut[value[m]]
    return out


def merge_origin(a: OriginAccumulator, b: OriginAccumulator) -> OriginAccumulator:
    """Fold ``b``'s state into ``a`` (in place) and return ``a``; ``b`` is left unchanged."""
    luts = {
        "ip": a._ip_codes(pd.Series(b._ip.values, dtype=object)) if len(b._ip) else
        np.zeros(0, dtype=np.int64),
        "user": _lut(a._user, b._user),
        "host": _lut(a._host, b._host),
        "svc": _lut(a._svc, b._svc),
    }  # fmt: skip
    trait_luts = [_lut(a._trait[name], b._trait[name]) for name in TRAITS]
    luts["ua"] = trait_luts[list(TRAITS).index("ua")]
    for name, tab in b._t.items():
        for part in tab.parts:
            cols = {c: luts[v] for c, v in CODED[name].items() if v != "trait:k"}
            tr = _recode(part, cols)
            if name == "trait":
                values = _recode_traits(part, trait_luts)
                tr["value"] = pd.Series(values, index=part.index, dtype=part["value"].dtype)
            a._t[name].add(tr)
    for name, sk in b._sk.items():
        a._sk[name].merge(sk, luts["ip"])
    for name, sk in a._sk.items():
        if len(sk):  # rows of origins sketched on either side join their sketch
            a._bound_set(name)
    _merge_hours(a, b, luts["ip"])
    a._has_identity |= b._has_identity
    a._has_conn |= b._has_conn
    a.events_seen += b.events_seen
    merge_tokens(a._token, b._token, luts["ip"], luts["user"])
    for tab in a._t.values():
        if tab.rows > a.max_rows and len(tab.parts) > 1:
            tab.merged()
    return a


def _merge_hours(a: OriginAccumulator, b: OriginAccumulator, ip_lut: np.ndarray) -> None:
    need = len(a._ip)
    if need > len(a._hours):
        grown = np.zeros((need, 24), dtype=np.uint32)
        grown[: len(a._hours)] = a._hours
        a._hours = grown
    n = min(len(b._hours), len(ip_lut))
    if n:
        a._hours[ip_lut[:n]] += b._hours[:n]


def merge_tokens(
    a: TokenAccumulator, b: TokenAccumulator, ip_lut: np.ndarray, user_lut: np.ndarray
) -> TokenAccumulator:
    """Fold ``b``'s token state into ``a``, given the origin and account code maps."""
    luts: dict[str, Any] = {"ip": ip_lut, "user": user_lut, "app": _lut(a._app, b._app),
                            "mbx": _lut(a._mbx, b._mbx)}  # fmt: skip
    for name, parts in b._parts.items():
        for part in parts:
            a._parts[name].append(_recode(part, {c: luts[v] for c, v in TOKEN_CODED[name].items()}))
            a._rows += len(part)
    a._t0 = min(a._t0, b._t0)
    a._sig_kinds |= b._sig_kinds
    return a
