"""The streamed Zeek ``uid`` join: application rows indexed once, conn chunks looked up in them.

:func:`attrib.io.zeek.stream_join` holds the Zeek ssl/ssh/http rows while the conn chunks stream
by. Testing every chunk's uids against every held row (``Series.isin``) costs O(held rows) per
chunk, so the join grew quadratically with the input. :class:`HeldAppRows` instead reduces the
held rows once to one entry per ``uid`` (the first non-null value of each joined column, in row
order: what :func:`attrib.io.zeek.join_by_uid` computes) and keys the entries by a 64-bit hash of
the uid text, sorted; a chunk costs O(chunk rows x log held uids). Equal hashes are confirmed by
comparing the uid text itself, so a hash collision never merges two different uids (a held set
with a colliding pair falls back to grouping by the text).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["HeldAppRows", "uid_hash"]

logger = logging.getLogger(__name__)

_MULT = np.uint64(0x9E3779B97F4A7C15)
#: uids longer than this are hashed through pandas (Zeek's are 18 characters)
_MAX_FIXED = 64


def _byte_columns(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The UTF-8 bytes, start offsets and lengths of a string array."""
    arr = arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)
    offsets = offsets[arr.offset : arr.offset + len(arr) + 1]
    buf = arr.buffers()[2]
    data = np.frombuffer(buf, dtype=np.uint8) if buf is not None else np.zeros(1, np.uint8)
    return data, offsets[:-1], np.diff(offsets)


def uid_hash(values: pd.Series) -> np.ndarray:
    """A 64-bit hash of each (non-null) uid text, vectorised over its bytes.

    The hash of a value depends on that value only (not on the batch): texts up to
    64 bytes are hashed byte by byte, longer ones by :func:`pandas.util.hash_array`.

    Parameters
    ----------
    values
        uid texts without nulls.

    Returns
    -------
    numpy.ndarray
        uint64, aligned to ``values``.
    """
    data, start, lens = _byte_columns(_text(values))
    h = np.full(len(lens), np.uint64(0xCBF29CE484222325), dtype=np.uint64) ^ lens.astype(np.uint64)
    short = lens <= _MAX_FIXED
    last = max(len(data) - 1, 0)
    top = int(lens[short].max()) if short.any() else 0
    with np.errstate(over="ignore"):
        for k in range(top):
            live = k < lens  # a shorter text's hash must not see the longer ones' rounds
            b = data[np.minimum(start + k, last)].astype(np.uint64)
            m = (h ^ b) * _MULT
            h = np.where(live, m ^ (m >> np.uint64(29)), h)
    if not short.all():
        long_ = ~short
        h[long_] = pd.util.hash_array(values[long_].astype(object).to_numpy()).astype(np.uint64)
    return h


def _text(s: pd.Series) -> pa.Array:
    return pa.array(s.astype("string").to_numpy(dtype=object), type=pa.large_string())


class HeldAppRows:
    """Held Zeek application rows, reduced to one entry per uid for the join.

    Parameters
    ----------
    rows
        The application rows (lean: only the columns holding a value; ``uid`` present).
    columns
        The columns merged onto conn rows (``JOIN_COLUMNS`` present in ``rows``).
    """

    def __init__(self, rows: pd.DataFrame, columns: list[str]) -> None:
        self.rows = rows.reset_index(drop=True)
        self.columns = columns
        uid = self.rows["uid"]
        has = uid.notna().to_numpy(dtype=bool)
        self._pos = np.flatnonzero(has)  # rows that can join
        h = uid_hash(uid[has]) if has.any() else np.zeros(0, np.uint64)
        order = np.argsort(h, kind="stable")
        hs = h[order]
        starts = np.flatnonzero(np.r_[True, hs[1:] != hs[:-1]]) if len(hs) else np.zeros(0, int)
        self._keys = hs[starts]
        group = np.cumsum(np.r_[True, hs[1:] != hs[:-1]]) - 1 if len(hs) else np.zeros(0, int)
        rows_sorted = self._pos[order]
        texts = _text(uid.iloc[rows_sorted]) if len(hs) else pa.array([], pa.large_string())
        self._rep = pc.take(texts, pa.array(starts)) if len(hs) else texts
        same = pc.equal(texts, pc.take(self._rep, pa.array(group))) if len(hs) else None
        if same is not None and not pc.all(same).as_py():
            logger.info("uid hash collision among held rows; grouping by text")
            self._fallback(uid, has)
            return
        self._row_group = np.full(len(self.rows), -1, dtype=np.int64)
        self._row_group[rows_sorted] = group
        self._firsts = self._first_values(rows_sorted, starts, len(hs))
        self.used = np.zeros(len(self._keys), dtype=bool)

    def _fallback(self, uid: pd.Series, has: np.ndarray) -> None:
        codes, uniq = pd.factorize(uid.astype(object).where(uid.notna(), None))
        self._keys = np.arange(len(uniq), dtype=np.uint64)
        self._rep = _text(pd.Series(uniq, dtype="string"))
        self._row_group = codes.astype(np.int64)
        order = np.argsort(codes[has], kind="stable")
        rows_sorted = self._pos[order]
        cs = codes[rows_sorted]
        starts = np.flatnonzero(np.r_[True, cs[1:] != cs[:-1]]) if len(cs) else np.zeros(0, int)
        self._firsts = self._first_values(rows_sorted, starts, len(cs))
        self.used = np.zeros(len(self._keys), dtype=bool)
        self._by_text = pd.Index(uniq)

    def _first_values(self, rows_sorted: np.ndarray, starts: np.ndarray, n: int) -> dict:
        """Per group and column, the first non-null value in row order (or null)."""
        out = {}
        ends = np.r_[starts[1:], n].astype(np.int64) if len(starts) else starts
        for c in self.columns:
            col = self.rows[c].iloc[rows_sorted]
            cand = np.where(col.notna().to_numpy(dtype=bool), np.arange(n), n)
            first = np.minimum.reduceat(cand, starts) if len(starts) else cand[:0]
            ok = first < ends
            vals = col.iloc[np.where(ok, first, 0)].reset_index(drop=True)
            out[c] = vals.where(pd.Series(ok)) if len(vals) else vals
        return out

    def lookup(self, uids: pd.Series, hashes: np.ndarray | None = None) -> np.ndarray:
        """The group of each uid (``-1``: no held row has it); ``uids`` without nulls.

        ``hashes`` (``uid_hash(uids)``) may be given when several held sets are probed.
        """
        if not len(uids) or not len(self._keys):
            return np.full(len(uids), -1, dtype=np.int64)
        if hasattr(self, "_by_text"):
            return np.asarray(self._by_text.get_indexer(uids.astype(object)), dtype=np.int64)
        h = uid_hash(uids) if hashes is None else hashes
        j = np.searchsorted(self._keys, h)
        j[j >= len(self._keys)] = 0
        hit = self._keys[j] == h
        if hit.any():
            at = np.flatnonzero(hit)
            same = pc.equal(pc.take(self._rep, pa.array(j[at])), _text(uids.iloc[at]))
            hit[at] = same.to_numpy(zero_copy_only=False)
        return np.where(hit, j, -1).astype(np.int64)

    def merge_into(
        self, chunk: pd.DataFrame, conn: np.ndarray, hashes: np.ndarray | None = None
    ) -> pd.DataFrame:
        """Fill the conn rows' empty joined columns from their uid's held rows.

        Parameters
        ----------
        chunk
            A canonical chunk.
        conn
            Which of its rows are Zeek conn rows with a uid.
        hashes
            ``uid_hash`` of those rows' uids, when already computed.

        Returns
        -------
        pandas.DataFrame
            ``chunk`` itself when nothing matched, else a filled copy.
        """
        at = np.flatnonzero(conn)
        g = self.lookup(chunk["uid"].iloc[at], hashes)
        ok = g >= 0
        if not ok.any():
            return chunk
        self.used[g[ok]] = True
        rows, groups = at[ok], g[ok]
        out = chunk.copy()
        for c in self.columns:
            if c not in out.columns:
                continue
            fill = self._firsts[c].iloc[groups]
            fill.index = out.index[rows]
            target = out[c].iloc[rows]
            out.loc[out.index[rows], c] = target.fillna(fill.astype(target.dtype))
        return out

    def rest(self) -> pd.DataFrame:
        """The held rows whose uid met no conn row (and those without a uid)."""
        g = self._row_group
        keep = (g < 0) | ~self.used[np.maximum(g, 0)]
        return self.rows[keep]
