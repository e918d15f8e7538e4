"""Compiled range index: sorted segment starts searched with :func:`numpy.searchsorted`.

Every data source (bundled tables, users' ``.mmdb`` files, tag lists) is compiled into the
same form: the address space is cut into *segments* ``[start_i, start_{i+1})``, each carrying
an integer value (a row of a side table, or ``-1`` for "no data"). IPv4 starts are ``uint32``;
IPv6 starts are 16-byte big-endian keys (numpy ``S16``), whose byte order equals numeric order,
so one ``searchsorted`` answers a whole batch of addresses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__: list[str] = []

U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
K16 = npt.NDArray[np.bytes_]

V4_MAX = (1 << 32) - 1


def v6_keys(hi: npt.ArrayLike, lo: npt.ArrayLike) -> K16:
    """Pack two uint64 halves into sortable 16-byte big-endian keys."""
    h = np.asarray(hi, dtype=np.uint64)
    lo_ = np.asarray(lo, dtype=np.uint64)
    buf = np.empty((h.shape[0], 2), dtype=">u8")
    buf[:, 0] = h
    buf[:, 1] = lo_
    return buf.view("S16").ravel()


def v6_halves(keys: K16) -> tuple[U64, U64]:
    """Split 16-byte keys back into (hi, lo) uint64 halves."""
    buf = np.ascontiguousarray(keys, dtype="S16").view(">u8").reshape(-1, 2)
    return buf[:, 0].astype(np.uint64), buf[:, 1].astype(np.uint64)


def ints_to_v6_keys(values: list[int]) -> K16:
    """16-byte keys from Python ints (0 <= v < 2**128)."""
    return np.array([v.to_bytes(16, "big") for v in values], dtype="S16")


def _v6_succ(hi: U64, lo: U64) -> tuple[U64, U64, npt.NDArray[np.bool_]]:
    """(hi, lo) + 1 with carry; the third array flags overflow past 2**128 - 1."""
    lo1 = lo + np.uint64(1)
    carry = lo1 == 0
    hi1 = hi + carry.astype(np.uint64)
    overflow = carry & (hi1 == 0)
    return hi1, lo1, overflow


def segments_v4(
    starts: npt.ArrayLike, ends: npt.ArrayLike, values: npt.ArrayLike
) -> tuple[U32, I32]:
    """Turn possibly unsorted, non-overlapping inclusive ranges into merged segments.

    Parameters
    ----------
    starts, ends
        Inclusive range bounds as integers in ``[0, 2**32)``.
    values
        Non-negative value per range.

    Returns
    -------
    tuple
        ``(segment_starts uint32, segment_values int32)``, starting at 0; gaps carry ``-1``
        and equal neighbours are merged.
    """
    s = np.asarray(starts, dtype=np.int64)
    e = np.asarray(ends, dtype=np.int64)
    v = np.asarray(values, dtype=np.int64)
    order = np.argsort(s, kind="stable")
    s, e, v = s[order], e[order], v[order]
    # gap segments begin at end+1 of each range when the next range starts later
    nxt = np.append(s[1:], V4_MAX + 1)
    gap = (e + 1 < nxt) & (e < V4_MAX)
    all_s = np.concatenate([[0], s, e[gap] + 1])
    all_v = np.concatenate([[-1], v, np.full(int(gap.sum()), -1)])
    order = np.argsort(all_s, kind="stable")
    all_s, all_v = all_s[order], all_v[order]
    # where several segments share a start (the leading 0-gap vs a range at 0), keep the last
    keep = np.append(all_s[1:] != all_s[:-1], True)
    all_s, all_v = all_s[keep], all_v[keep]
    keep = np.insert(all_v[1:] != all_v[:-1], 0, True)
    return all_s[keep].astype(np.uint32), all_v[keep].astype(np.int32)


def segments_v6(
    start_hi: npt.ArrayLike,
    start_lo: npt.ArrayLike,
    end_hi: npt.ArrayLike,
    end_lo: npt.ArrayLike,
    values: npt.ArrayLike,
) -> tuple[K16, I32]:
    """IPv6 counterpart of :func:`segments_v4` on (hi, lo) uint64 halves.

    Returns
    -------
    tuple
        ``(segment_starts S16, segment_values int32)``.
    """
    sk = v6_keys(start_hi, start_lo)
    ehi, elo, overflow = _v6_succ(
        np.asarray(end_hi, dtype=np.uint64), np.asarray(end_lo, dtype=np.uint64)
    )
    ek = v6_keys(ehi, elo)  # end + 1
    v = np.asarray(values, dtype=np.int64)
    order = np.argsort(sk, kind="stable")
    sk, ek, v, overflow = sk[order], ek[order], v[order], overflow[order]
    top = np.array([b"\xff" * 16], dtype="S16")
    nxt = np.concatenate([sk[1:], top]) if len(sk) else sk
    gap = (ek < nxt) & ~overflow
    if len(sk):
        # the last range: a gap follows unless it reaches the top of the space
        gap[-1] = not overflow[-1]
    zero = np.array([b""], dtype="S16")
    all_s = np.concatenate([zero, sk, ek[gap]])
    all_v = np.concatenate([[-1], v, np.full(int(gap.sum()), -1)])
    order = np.argsort(all_s, kind="stable")
    all_s, all_v = all_s[order], all_v[order]
    keep = np.append(all_s[1:] != all_s[:-1], True)
    all_s, all_v = all_s[keep], all_v[keep]
    keep = np.insert(all_v[1:] != all_v[:-1], 0, True)
    return all_s[keep].astype("S16"), all_v[keep].astype(np.int32)


@dataclass
class RangeIndex:
    """Segments for IPv4 and IPv6 with an integer value per segment (``-1`` = no data)."""

    v4_starts: U32
    v4_values: I32
    v6_starts: K16
    v6_values: I32

    @classmethod
    def empty(cls) -> RangeIndex:
        """An index that answers ``-1`` everywhere."""
        return cls(
            np.zeros(1, dtype=np.uint32),
            np.full(1, -1, dtype=np.int32),
            np.array([b""], dtype="S16"),
            np.full(1, -1, dtype=np.int32),
        )

    def lookup(self, is_v4: npt.NDArray[np.bool_], v4: U32, v6: K16) -> I32:
        """Values for a batch of addresses.

        Parameters
        ----------
        is_v4
            Per address: IPv4 (True) or IPv6 (False). Invalid addresses should be masked by
            the caller.
        v4
            IPv4 integers (read where ``is_v4``).
        v6
            IPv6 16-byte keys (read where not ``is_v4``).

        Returns
        -------
        numpy.ndarray
            int32 values, ``-1`` where no segment has data.
        """
        out = np.full(is_v4.shape[0], -1, dtype=np.int32)
        if is_v4.any():
            q = v4[is_v4]
            i = np.searchsorted(self.v4_starts, q, side="right") - 1
            out[is_v4] = self.v4_values[i]
        m6 = ~is_v4
        if m6.any():
            q6 = v6[m6]
            i = np.searchsorted(self.v6_starts, q6, side="right") - 1
            out[m6] = self.v6_values[i]
        return out

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays."""
        return int(
            self.v4_starts.nbytes
            + self.v4_values.nbytes
            + self.v6_starts.nbytes
            + self.v6_values.nbytes
        )
