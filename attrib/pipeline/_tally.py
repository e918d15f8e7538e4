"""Context inference in the same reading pass as the features (see :mod:`attrib.pipeline._stream`).

:class:`InferenceTally` sees every raw chunk next to the accumulators and keeps what
:func:`attrib.context.infer.complete_context` reads (identity rows; distinct connection pairs)
plus the pair counts the direction evidence is made of, all as counted distinct keys (memory
follows the distinct sign-in keys and pairs, not the rows). After the pass,
:meth:`InferenceTally.adopt` decides whether the accumulation done under the configured
context is exactly the one the inferred context would have done, and if so hands the inferred
context over.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from attrib.context import OrgContext
from attrib.features.direction import DirectionCounts, _is_identity, _Sides
from attrib.schema import empty_events

__all__ = ["InferenceTally"]

logger = logging.getLogger(__name__)

_COLS = ["src_ip", "dst_ip", "user", "outcome"]
_MERGE_AT = 64


def _counted(parts: list[pd.DataFrame], keys: list[str], at: int = _MERGE_AT) -> list[pd.DataFrame]:
    """``parts`` summed by ``keys`` into one table once there are more than ``at`` of them."""
    if len(parts) <= at:
        return parts
    d = pd.concat(parts, ignore_index=True)
    return [d.groupby(keys, dropna=False, sort=False, observed=True)["n"].sum().reset_index()]


class InferenceTally:
    """What context inference and the direction evidence need, gathered chunk by chunk."""

    def __init__(self) -> None:
        self._ident: list[pd.DataFrame] = []
        self._pairs: list[pd.DataFrame] = []  # connection (src, dst) pairs with row counts
        self._id_src: list[pd.DataFrame] = []  # identity rows per source address
        self._seen: list[pd.DataFrame] = []  # distinct (src, dst) of rows with a destination

    def add(self, chunk: pd.DataFrame) -> None:
        """Tally one raw (not yet oriented) chunk."""
        if chunk.empty:
            return
        c = chunk[_COLS]
        is_id = (c["dst_ip"].isna() & c["src_ip"].notna()).to_numpy(dtype=bool)
        if is_id.any():  # distinct identity rows with their count: not one row per sign-in
            self._ident = _counted([*self._ident, _sized(c[is_id].assign(n=1), _COLS)], _COLS)
        self._seen.append(
            c.loc[~is_id & c["dst_ip"].notna(), ["src_ip", "dst_ip"]].drop_duplicates()
        )
        if len(self._seen) > _MERGE_AT:
            self._seen = [pd.concat(self._seen, ignore_index=True).drop_duplicates()]
        ident = _is_identity(chunk)
        src = chunk["src_ip"]
        ids = src[ident].to_frame().assign(n=1)
        self._id_src = _counted([*self._id_src, _sized(ids, ["src_ip"])], ["src_ip"])
        conn = chunk.loc[~ident, ["src_ip", "dst_ip"]].assign(n=1)
        self._pairs = _counted([*self._pairs, _sized(conn, ["src_ip", "dst_ip"])],
                               ["src_ip", "dst_ip"])  # fmt: skip

    def sample(self) -> pd.DataFrame:
        """Identity rows and distinct connection pairs (what :func:`inference_events` returns).

        The identity rows come distinct (``src_ip``, ``dst_ip``, ``user``, ``outcome``) in
        order of first appearance, with their count in ``n`` (what
        :func:`attrib.context.infer.infer_home_countries` weighs by), so the tally holds the
        distinct sign-in keys, not every sign-in.
        """
        pairs = pd.concat(self._seen).drop_duplicates() if self._seen else _empty()
        ident = _counted(self._ident, _COLS, 1) if self._ident else []
        parts = [p for p in ident if len(p)] + ([pairs] if len(pairs) else [])
        if not parts:
            return empty_events()
        return pd.concat(parts, ignore_index=True)

    def _pair_table(self) -> pd.DataFrame:
        return _counted(self._pairs, ["src_ip", "dst_ip"], 1)[0] if self._pairs else _empty()

    def recount(self, base: DirectionCounts, context: OrgContext) -> DirectionCounts:
        """The direction evidence as ``context`` classifies the addresses (totals from ``base``)."""
        sides = _Sides(context)
        out = DirectionCounts(events=base.events, no_ts=base.no_ts, _sides=sides)
        if self._id_src:
            ids = _counted(self._id_src, ["src_ip"], 1)[0]
            _, peer = sides.classify(ids["src_ip"])
            out.identity = int(ids["n"].to_numpy()[peer].sum())
        p = self._pair_table()
        if len(p):
            s_in, s_peer = sides.classify(p["src_ip"])
            d_in, d_peer = sides.classify(p["dst_ip"])
            n = p["n"].to_numpy()
            out.inbound = int(n[s_peer].sum())
            out.outbound = int(n[s_in & d_peer].sum())
            out.internal_only = int(n[s_in & d_in].sum())
        return out

    def adopt(self, directed: Any, inferred: OrgContext) -> bool:
        """Hand ``inferred`` to ``directed`` when the pass under its own context was the same.

        Parameters
        ----------
        directed
            The :class:`attrib.features.direction.DirectedAccumulator` of the pass.
        inferred
            The completed context.

        Returns
        -------
        bool
            True when adopted (the result is exactly that of a pass under ``inferred``);
            False when an address seen changes class under ``inferred`` (read again).
        """
        counts = self.recount(directed.counts, inferred)
        changed = directed.reclassified(inferred, counts)
        if changed != 0:  # None: cannot tell
            logger.info("the inferred context reclassifies %s address(es): reading again", changed)
            return False
        directed.adopt(inferred, counts)
        return True


def _sized(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return df.groupby(keys, dropna=False, sort=False, observed=True)["n"].sum().reset_index()


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"src_ip": pd.Series([], dtype="string"),
                         "dst_ip": pd.Series([], dtype="string"),
                         "n": pd.Series([], dtype="int64")})  # fmt: skip
