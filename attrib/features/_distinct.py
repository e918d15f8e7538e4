"""Distinct counts per origin: exact sets up to a bound, HyperLogLog sketches past it.

The ``host`` and ``svc`` partial tables hold one row per distinct (origin, value): a scanner
touching a million addresses would hold a million rows. Once an origin has more than
:data:`BOUND` distinct values in a table, its rows are folded into a HyperLogLog sketch of
``2**P`` registers (1 KiB) and later rows go straight to the sketch; the feature reads the
sketch's estimate (standard error :data:`REL_ERROR`, about 3.3 %). Below the bound every
count is exact, so small inputs (and every test preset) never see a sketch.

Values are hashed from their text (:func:`pandas.util.hash_array`, a fixed key), never from
the per-accumulator codes, so sketches built on different partitions merge by a register-wise
maximum.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from attrib.features._common import Vocab

__all__ = ["BOUND", "P", "REL_ERROR", "DistinctSketches", "value_hashes"]

#: Exact distinct values per origin and table; past it, the origin's count is sketched.
BOUND = 4096
#: Register index bits (``2**P`` registers of one byte each per sketched origin).
P = 10
#: Relative standard error of a sketched count.
REL_ERROR = 1.04 / math.sqrt(1 << P)
_M = 1 << P
_ALPHA = 0.7213 / (1 + 1.079 / _M)


def value_hashes(vocab: Vocab, cache: np.ndarray) -> np.ndarray:
    """The 64-bit hash of every vocabulary value (``cache`` extended by the new values)."""
    if len(cache) == len(vocab):
        return cache
    new = np.asarray(vocab.values[len(cache) :], dtype=object)
    return np.concatenate([cache, pd.util.hash_array(new).astype(np.uint64)])


def _index_rank(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """HyperLogLog register index and rank (leading zeros + 1) of each hash."""
    j = (h >> np.uint64(64 - P)).astype(np.int64)
    w = (h << np.uint64(P)) | np.uint64(1 << (P - 1))  # never zero: rank at most 64 - P + 1
    bits = np.frexp(w.astype(np.float64))[1]  # the bit length of w
    return j, np.clip(65 - bits, 1, 64 - P + 1).astype(np.uint8)


class DistinctSketches:
    """The sketched origins of one partial table (origin code -> HyperLogLog registers)."""

    def __init__(self) -> None:
        self.row: dict[int, int] = {}
        self.reg = np.zeros((0, _M), dtype=np.uint8)
        self._flag = np.zeros(0, dtype=bool)

    def __len__(self) -> int:
        return len(self.row)

    def mask(self, ip: np.ndarray) -> np.ndarray:
        """Which of ``ip`` (origin codes) are sketched."""
        if not self.row:
            return np.zeros(len(ip), dtype=bool)
        ok = ip < len(self._flag)
        out = np.zeros(len(ip), dtype=bool)
        out[ok] = self._flag[ip[ok]]
        return out

    def add(self, ip: np.ndarray, h: np.ndarray) -> None:
        """Fold values (hashes ``h``) seen from origins ``ip`` into their sketches."""
        if not len(ip):
            return
        self._ensure(np.unique(ip).tolist())
        rows = np.fromiter((self.row[c] for c in ip.tolist()), dtype=np.int64, count=len(ip))
        j, rank = _index_rank(h)
        np.maximum.at(self.reg, (rows, j), rank)

    def _ensure(self, codes: list[int]) -> None:
        """Registers for every origin of ``codes`` (zero for a new one)."""
        for code in codes:
            if code in self.row:
                continue
            self.row[code] = len(self.row)
            if code >= len(self._flag):
                grown = np.zeros(max(code + 1, 2 * len(self._flag)), dtype=bool)
                grown[: len(self._flag)] = self._flag
                self._flag = grown
            self._flag[code] = True
        if len(self.row) > len(self.reg):
            reg = np.zeros((max(len(self.row), 2 * len(self.reg)), _M), dtype=np.uint8)
            reg[: len(self.reg)] = self.reg
            self.reg = reg

    def bound(self, df: pd.DataFrame, col: str, hashes: np.ndarray) -> pd.DataFrame:
        """``df`` (distinct ``ip``, ``col`` rows) without the rows of sketched origins.

        Rows of origins already sketched, and of every origin with more than :data:`BOUND`
        distinct values, are folded into the sketches.
        """
        if not len(df):
            return df
        ip = df["ip"].to_numpy(dtype=np.int64)
        counts = np.bincount(ip)
        heavy = counts[ip] > BOUND
        move = heavy | self.mask(ip)
        if not move.any():
            return df
        self.add(ip[move], hashes[df[col].to_numpy(dtype=np.int64)[move]])
        return df[~move].reset_index(drop=True)

    def merge(self, other: DistinctSketches, ip_lut: np.ndarray) -> None:
        """Fold ``other``'s sketches in (its origin codes mapped through ``ip_lut``)."""
        for code, r in other.row.items():
            c = int(ip_lut[code])
            self._ensure([c])
            self.reg[self.row[c]] = np.maximum(self.reg[self.row[c]], other.reg[r])

    def estimates(self) -> pd.Series:
        """Estimated distinct values of every sketched origin (index: origin code)."""
        if not self.row:
            return pd.Series([], dtype=float)
        codes = np.fromiter(self.row.keys(), dtype=np.int64, count=len(self.row))
        reg = self.reg[np.fromiter(self.row.values(), dtype=np.int64, count=len(self.row))]
        est = _ALPHA * _M * _M / np.sum(np.exp2(-reg.astype(np.float64)), axis=1)
        zeros = (reg == 0).sum(axis=1)
        small = (est <= 2.5 * _M) & (zeros > 0)
        est[small] = _M * np.log(_M / zeros[small])
        return pd.Series(est, index=codes)
