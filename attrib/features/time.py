"""Time features: sightings, lifetime, duty cycle, working-hours fit, hand-offs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from attrib.context import OrgContext
from attrib.features.partials import Partials

__all__ = ["HANDOFF_MAX_GROUP", "HANDOFF_TAU_H", "handoff_features", "time_features"]

_NS_DAY = 86_400 * 10**9
#: Time constant (hours) of the hand-off score ``exp(-|gap| / tau)``.
HANDOFF_TAU_H = 6.0
#: Trait values shared by more origins than this carry no hand-off information (too common).
HANDOFF_MAX_GROUP = 50
_OFFSETS = np.arange(-12, 15)


def time_features(
    p: Partials, ctx: OrgContext, index: pd.Index, history: pd.DataFrame | None
) -> pd.DataFrame:
    """Sightings, lifetime, activity and working-hours features per origin code.

    Parameters
    ----------
    p
        Merged partials.
    ctx
        The organisation (time zone, work hours).
    index
        Origin codes (rows of the result).
    history
        Earlier sightings or None.

    Returns
    -------
    pandas.DataFrame
        Indexed by origin code.
    """
    ipt = p.tables["ip"].set_index("ip").reindex(index)
    ts_min, ts_max = ipt["ts_min"].to_numpy(), ipt["ts_max"].to_numpy()
    day = p.tables["day"]
    active = day.groupby("ip").size().reindex(index).to_numpy(dtype=float)
    span_days = (ts_max // _NS_DAY - ts_min // _NS_DAY + 1).astype(float)
    out = pd.DataFrame(index=index)
    first = pd.to_datetime(ts_min, utc=True)
    last = pd.to_datetime(ts_max, utc=True)
    out["first_seen"], out["last_seen"] = first, last
    out["seen_before"] = np.nan
    out["prior_days_seen"] = np.nan
    if history is not None:
        out = _apply_history(out, p, index, history)
    life = (out["last_seen"] - out["first_seen"]).dt.total_seconds().to_numpy() / 86_400.0
    out["lifetime_days"] = life
    out["active_days"] = active
    out["duty_cycle"] = active / span_days
    out["events_per_day"] = ipt["n"].to_numpy(dtype=float) / active
    n = ipt["n"].to_numpy(dtype=float)
    out["work_hours_share"] = ipt["n_work"].to_numpy(dtype=float) / n
    share, shift = _best_zone(p, ctx, index, n, int(ts_max.max()) if len(ts_max) else 0)
    out["best_zone_work_share"], out["zone_shift_h"] = share, shift
    return out


def _apply_history(
    out: pd.DataFrame, p: Partials, index: pd.Index, history: pd.DataFrame
) -> pd.DataFrame:
    ips = p.ip.decode(index.to_numpy())
    h = history.copy()
    h["ip"] = h["ip"].astype("string")
    h = h.drop_duplicates("ip").set_index("ip")
    h = h.reindex(pd.Index(ips.to_numpy(dtype=object)))
    hf = pd.to_datetime(h["first_seen"], utc=True).to_numpy()
    hl = pd.to_datetime(h["last_seen"], utc=True).to_numpy()
    first = out["first_seen"].to_numpy()
    known = ~pd.isna(hf)
    out["seen_before"] = (known & (hf < first)).astype(float)
    out["prior_days_seen"] = np.nan_to_num(
        pd.to_numeric(h["days_seen"], errors="coerce").to_numpy(dtype=float)
    )
    out["first_seen"] = pd.to_datetime(np.where(known & (hf < first), hf, first), utc=True)
    last = out["last_seen"].to_numpy()
    out["last_seen"] = pd.to_datetime(np.where(~pd.isna(hl) & (hl > last), hl, last), utc=True)
    return out


def _best_zone(
    p: Partials, ctx: OrgContext, index: pd.Index, n: np.ndarray, ref_ns: int
) -> tuple[np.ndarray, np.ndarray]:
    """Best-fit UTC offset for office hours and its circular distance to the victim's."""
    hist = p.hours[index.to_numpy()].astype(np.float32)
    start, end = ctx.work_hours
    # local hour = utc hour + offset: the work window in UTC for each offset
    shares = np.empty((len(index), len(_OFFSETS)), dtype=np.float32)
    for j, off in enumerate(_OFFSETS):
        utc_hours = (np.arange(start, end) - off) % 24
        shares[:, j] = hist[:, utc_hours].sum(axis=1)
    shares /= np.maximum(n, 1)[:, None].astype(np.float32)
    victim = _utc_offset_h(ctx.timezone, ref_ns)
    d = np.abs(_OFFSETS - victim)
    circ = np.minimum(d, 24 - d)
    # prefer, among equally good offsets, the one closest to the victim's
    key = shares - circ[None, :].astype(np.float32) * 1e-4
    best = np.argmax(key, axis=1)
    share = shares[np.arange(len(index)), best].astype(float)
    return share, circ[best].astype(float)


def _utc_offset_h(tz: str, ref_ns: int) -> int:
    dt = datetime.fromtimestamp(ref_ns / 1e9, tz=ZoneInfo(tz))
    off = dt.utcoffset()
    return round(off.total_seconds() / 3600) if off is not None else 0


def handoff_features(traits: pd.DataFrame) -> pd.DataFrame:
    """Hand-off score: this origin starts near when a look-alike origin stops.

    Parameters
    ----------
    traits
        Indexed by origin, columns ``first_seen``, ``last_seen`` (UTC) and trait-value columns
        (``top_user_agent``, ``top_ja4``, ``top_tcp_fp``, ``target_set``; null = unknown).

    Returns
    -------
    pandas.DataFrame
        ``handoff_score`` (max over look-alike predecessors ``j`` of
        ``exp(-|first_i - last_j| / tau)``, ``j`` started before ``i`` and stopped before ``i``
        stopped) and ``handoff_links`` (look-alike predecessors and successors within 24 h);
        NaN for origins without any trait.
    """
    tcols = [c for c in ("top_user_agent", "top_ja4", "top_tcp_fp", "target_set") if c in traits]
    pairs = handoff_pairs(traits, tcols)
    out = pd.DataFrame(index=traits.index)
    score = pairs.groupby("succ")["w"].max() if len(pairs) else pd.Series(dtype=float)
    near = pairs[pairs["gap_h"].abs() <= 24.0]
    links = pd.concat([near["succ"], near["pred"]]).value_counts()
    known = traits[tcols].notna().any(axis=1) if tcols else pd.Series(False, index=traits.index)
    out["handoff_score"] = score.reindex(traits.index).fillna(0.0).where(known)
    out["handoff_links"] = links.reindex(traits.index).fillna(0.0).astype(float).where(known)
    return out


def handoff_pairs(traits: pd.DataFrame, tcols: list[str]) -> pd.DataFrame:
    """Predecessor/successor pairs of origins sharing a (not too common) trait value.

    Parameters
    ----------
    traits
        As for :func:`handoff_features`.
    tcols
        Trait columns to join on.

    Returns
    -------
    pandas.DataFrame
        ``pred``, ``succ`` (origin index labels), ``gap_h`` (successor start minus predecessor
        end, hours), ``w`` (``exp(-|gap_h| / tau)``), ``trait``; one row per pair and trait.
    """
    first = traits["first_seen"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    last = traits["last_seen"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    frames = []
    for c in tcols:
        v = traits[c]
        sizes = v.map(v.value_counts())
        m = v.notna() & (sizes >= 2) & (sizes <= HANDOFF_MAX_GROUP)
        if not m.any():
            continue
        left = pd.DataFrame({"v": v[m].to_numpy(), "i": np.flatnonzero(m.to_numpy())})
        j = left.merge(left, on="v", suffixes=("_p", "_s"))
        ip, is_ = j["i_p"].to_numpy(), j["i_s"].to_numpy()
        ok = (first[ip] < first[is_]) & (last[ip] < last[is_])
        ip, is_ = ip[ok], is_[ok]
        gap = (first[is_] - last[ip]) / 3.6e12
        frames.append(
            pd.DataFrame(
                {
                    "pred": traits.index[ip],
                    "succ": traits.index[is_],
                    "gap_h": gap,
                    "w": np.exp(-np.abs(gap) / HANDOFF_TAU_H),
                    "trait": c,
                }
            )
        )
    if not frames:
        return pd.DataFrame({"pred": [], "succ": [], "gap_h": [], "w": [], "trait": []})
    return pd.concat(frames, ignore_index=True)
