"""Relay-chain reconstruction from a capture that sees both legs at a relay.

A relay (a compromised router, a rented VPS) receives a connection from upstream and, a few
milliseconds later, opens one downstream; the downstream ends when the upstream ends, and
carries nearly the same bytes. This is stepping-stone detection in the tradition of Zhang &
Paxson (USENIX Security 2000): there, the OFF->ON transitions of two flows are correlated;
with connection logs each connection is one ON period, so we correlate its *start* and *end*
across the two legs, add byte-volume agreement, and then ask the flow-level Zhang-Paxson
question — do the ON periods of the upstream flow keep coinciding with those of the same
downstream flow? — which chaff and jitter rarely satisfy by chance. A one-to-one matching
(iterated mutual best) turns candidates into chain edges with a confidence.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from attrib.schema import CHAIN_EDGE_COLUMNS, CLUSTER_COLUMNS

__all__ = ["CHAIN_EDGE_COLUMNS", "chain_clusters", "find_relays", "link_chains"]

logger = logging.getLogger(__name__)


def find_relays(events: pd.DataFrame, min_conns: int = 1) -> list[str]:
    """Addresses that both receive connections and open connections to third parties.

    Parameters
    ----------
    events
        Connection events (``src_ip``, ``dst_ip``).
    min_conns
        Minimum connections in each direction.

    Returns
    -------
    list of str
        Candidate relay addresses, sorted.
    """
    conn = events[events["src_ip"].notna() & events["dst_ip"].notna()]
    into = conn["dst_ip"].astype(str).value_counts()
    out = conn["src_ip"].astype(str).value_counts()
    both = into.index.intersection(out.index)
    return sorted(str(r) for r in both if into[r] >= min_conns and out[r] >= min_conns)


def _legs(events: pd.DataFrame, relay: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    # connections only: identity events (a sign-in from the relay) have no destination
    ev = events[events["ts"].notna() & events["src_ip"].notna() & events["dst_ip"].notna()]
    cols = ["ts", "src_ip", "dst_ip", "duration", "bytes_out", "bytes_in", "uid"]
    ev = ev.loc[:, [c for c in cols if c in ev.columns]]
    leg_in = ev[(ev["dst_ip"].astype(str) == relay) & (ev["src_ip"].astype(str) != relay)]
    leg_out = ev[(ev["src_ip"].astype(str) == relay) & (ev["dst_ip"].astype(str) != relay)]

    def prep(d: pd.DataFrame) -> pd.DataFrame:
        t = d["ts"].astype("datetime64[ns, UTC]").astype("int64").to_numpy() / 1e9
        dur = d["duration"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        out = pd.DataFrame({
            "t": t, "end": t + np.nan_to_num(dur), "has_dur": ~np.isnan(dur),
            "src": d["src_ip"].astype(str).to_numpy(), "dst": d["dst_ip"].astype(str).to_numpy(),
            "bo": d["bytes_out"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
            "bi": d["bytes_in"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
            "uid": d["uid"].astype("string").to_numpy() if "uid" in d else pd.NA,
            "ts": d["ts"].astype("datetime64[ns, UTC]").to_numpy(),
        })  # fmt: skip
        return out.sort_values("t", kind="stable").reset_index(drop=True)

    return prep(leg_in), prep(leg_out)


def _candidates(a: pd.DataFrame, b: pd.DataFrame, max_lag_s: float) -> pd.DataFrame:
    """(in, out) index pairs whose out starts within ``[0, max_lag_s]`` after the in."""
    bt = b["t"].to_numpy()
    lo = np.searchsorted(bt, a["t"].to_numpy(), side="left")
    hi = np.searchsorted(bt, a["t"].to_numpy() + max_lag_s, side="right")
    n = hi - lo
    i = np.repeat(np.arange(len(a)), n)
    j = np.repeat(lo, n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
    c = pd.DataFrame({"i": i, "j": j})
    return c[a["src"].to_numpy()[i] != b["dst"].to_numpy()[j]].reset_index(drop=True)


def _pair_scores(a: pd.DataFrame, b: pd.DataFrame, c: pd.DataFrame, tau_s: float) -> np.ndarray:
    """Start-lag, end-alignment and byte agreement of each candidate, in (0, 1]."""
    i, j = c["i"].to_numpy(), c["j"].to_numpy()
    lag = b["t"].to_numpy()[j] - a["t"].to_numpy()[i]
    s_start = np.exp(-lag / tau_s)
    # the upstream outlives the downstream by about the lag plus one round trip
    d_end = a["end"].to_numpy()[i] - b["end"].to_numpy()[j]
    has = a["has_dur"].to_numpy()[i] & b["has_dur"].to_numpy()[j]
    s_end = np.where(has, np.exp(-np.maximum(np.abs(d_end) - lag, 0.0) / (4 * tau_s + 0.02 *
                     (b["end"].to_numpy()[j] - b["t"].to_numpy()[j]))), 0.5)  # fmt: skip
    s_bytes = np.ones(len(c))
    for col in ("bo", "bi"):
        x, y = a[col].to_numpy()[i], b[col].to_numpy()[j]
        ratio = np.abs(np.log((x + 64.0) / (y + 64.0)))
        s_bytes *= np.where(np.isnan(ratio), 0.7, np.exp(-4.0 * ratio))
    return np.asarray(s_start * s_end * s_bytes, dtype=float)


def _flow_correlation(
    a: pd.DataFrame, b: pd.DataFrame, c: pd.DataFrame, pair: np.ndarray
) -> np.ndarray:
    """Zhang-Paxson flow-level test: how consistently each flow's ON periods are echoed.

    For the upstream flow (its source to the relay) the share of its connections with a good
    downstream echo, and for the downstream flow (relay to its destination) the share with a
    good upstream echo; the geometric mean of the two. A relayed session scores ~1 on both;
    chaff (the relay's own browsing, unrelated inbound) only echoes by coincidence.
    """
    i, j = c["i"].to_numpy(), c["j"].to_numpy()
    good = pair >= 0.5
    up_echo = pd.Series(np.bincount(i[good], minlength=len(a)) > 0).groupby(a["src"]).mean()
    down_echo = pd.Series(np.bincount(j[good], minlength=len(b)) > 0).groupby(b["dst"]).mean()
    u = up_echo.reindex(a["src"].to_numpy()[i]).to_numpy(dtype=float)
    d = down_echo.reindex(b["dst"].to_numpy()[j]).to_numpy(dtype=float)
    return np.asarray(np.sqrt(u * d), dtype=float)


def _mutual_best(c: pd.DataFrame, rounds: int = 4) -> pd.DataFrame:
    """One-to-one matching by iterated mutual best score (vectorised)."""
    chosen = []
    rest = c
    for _ in range(rounds):
        if not len(rest):
            break
        best_i = rest.loc[rest.groupby("i")["score"].idxmax()]
        best_j = rest.loc[rest.groupby("j")["score"].idxmax()]
        mutual = best_i.merge(best_j[["i", "j"]], on=["i", "j"])
        chosen.append(mutual)
        rest = rest[~rest["i"].isin(mutual["i"]) & ~rest["j"].isin(mutual["j"])]
    return pd.concat(chosen, ignore_index=True) if chosen else c.iloc[:0]


def link_chains(
    events: pd.DataFrame,
    relays: list[str] | None = None,
    *,
    max_lag_s: float = 2.0,
    tau_s: float = 0.25,
    min_confidence: float = 0.3,
) -> pd.DataFrame:
    """Link inbound and outbound connections at relays into chain edges.

    Parameters
    ----------
    events
        Connection events of a capture at (or next to) the relays: ``ts``, ``src_ip``,
        ``dst_ip``, ``duration``, ``bytes_out``, ``bytes_in``, ``uid``.
    relays
        Relay addresses; default :func:`find_relays`.
    max_lag_s
        Longest forwarding delay considered (outbound start minus inbound start).
    tau_s
        Time scale of the start/end timing agreement (larger tolerates more jitter).
    min_confidence
        Edges below this confidence are dropped.

    Returns
    -------
    pandas.DataFrame
        :data:`CHAIN_EDGE_COLUMNS`: upstream source, relay, downstream destination, the two
        connection uids, the forwarding lag and a confidence in [0, 1].
    """
    relays = find_relays(events) if relays is None else list(relays)
    parts = [_link_one(events, r, max_lag_s, tau_s) for r in relays]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series([], dtype=_dtype(c)) for c in CHAIN_EDGE_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    out = out[out["confidence"] >= min_confidence].reset_index(drop=True)
    logger.info("%d chain edges at %d relays", len(out), len(relays))
    return out


def _dtype(col: str) -> str:
    if col == "in_ts":
        return "datetime64[ns, UTC]"
    return "float64" if col in ("lag_s", "confidence") else "string[pyarrow]"


def _link_one(events: pd.DataFrame, relay: str, max_lag_s: float, tau_s: float) -> pd.DataFrame:
    a, b = _legs(events, relay)
    if not len(a) or not len(b):
        return pd.DataFrame()
    c = _candidates(a, b, max_lag_s)
    if not len(c):
        return pd.DataFrame()
    pair = _pair_scores(a, b, c, tau_s)
    flow = _flow_correlation(a, b, c, pair)
    c = c.assign(score=pair * (0.25 + 0.75 * flow))
    m = _mutual_best(c)
    # confidence: the match's own score, discounted when a rival candidate was nearly as good
    both = c.merge(m[["i", "j"]], on="i", suffixes=("", "_m"))
    second = both[both["j"] != both["j_m"]].groupby("i")["score"].max()
    rival = second.reindex(m["i"]).fillna(0.0).to_numpy()
    s = m["score"].to_numpy()
    conf = s * (1.0 - rival / np.maximum(s, 1e-12) * 0.5)
    i, j = m["i"].to_numpy(), m["j"].to_numpy()
    return pd.DataFrame({
        "in_src": a["src"].to_numpy()[i], "relay": relay, "out_dst": b["dst"].to_numpy()[j],
        "in_uid": a["uid"].to_numpy()[i], "out_uid": b["uid"].to_numpy()[j],
        "lag_s": b["t"].to_numpy()[j] - a["t"].to_numpy()[i],
        "confidence": np.clip(conf, 0.0, 1.0),
        "in_ts": pd.to_datetime(a["ts"].to_numpy()[i], utc=True),
    }).astype({c: _dtype(c) for c in CHAIN_EDGE_COLUMNS})  # fmt: skip


def chain_clusters(edges: pd.DataFrame, origins: pd.DataFrame) -> pd.DataFrame:
    """Relay chains as rows of the clusters table: one row per upstream -> relay -> downstream.

    Parameters
    ----------
    edges
        Chain edges (:data:`CHAIN_EDGE_COLUMNS`, from :func:`link_chains`).
    origins
        The scored origins (``ip``, ``score``, ``asn``, ``country``, ``net_type``), for the
        network facts and the suspicion of the chain's addresses.

    Returns
    -------
    pandas.DataFrame
        :data:`attrib.schema.CLUSTER_COLUMNS`; ``cluster`` is ``R0001``, ``R0002``, ... and
        ``shared_traits`` says ``relay chain`` with the relayed connections, lag and confidence.
        ``score`` is the highest score among the chain's addresses that are origins.
    """
    if not len(edges):
        return pd.DataFrame({c: [] for c in CLUSTER_COLUMNS})
    g = edges.groupby(["in_src", "relay", "out_dst"], sort=True, observed=True).agg(
        n=("confidence", "size"), conf=("confidence", "median"), lag=("lag_s", "median"),
        first=("in_ts", "min"), last=("in_ts", "max"),
    ).reset_index()  # fmt: skip
    g = g.sort_values(["n", "conf"], ascending=False, kind="stable").reset_index(drop=True)
    unique = origins.drop_duplicates("ip")
    by_ip = unique.set_index(unique["ip"].astype(str))
    rows = [_chain_row(k, r, by_ip) for k, r in enumerate(g.to_dict("records"), start=1)]
    out = pd.DataFrame(rows, columns=list(CLUSTER_COLUMNS))
    return out.astype({"score": "Float64", "size": "int64"})


def _chain_row(k: int, r: dict[Any, Any], by_ip: pd.DataFrame) -> dict[str, Any]:
    path = [str(r["in_src"]), str(r["relay"]), str(r["out_dst"])]
    known = by_ip.reindex(path)
    scores = known["score"].dropna() if "score" in known else pd.Series([], dtype=float)

    def joined(col: str) -> str | None:
        vals = [str(v) for v in known[col].dropna().unique()] if col in known else []
        return ";".join(vals) or None

    n, lag, conf = int(r["n"]), float(r["lag"]), float(r["conf"])
    return {
        "cluster": f"R{k:04d}", "size": 3, "members": ";".join(path),
        "first_seen": r["first"], "last_seen": r["last"],
        "shared_traits": f"relay chain: {n} relayed connection(s), median lag "
                         f"{lag * 1000:.0f} ms, confidence {conf:.2f}",
        "asns": joined("asn"), "countries": joined("country"), "net_types": joined("net_type"),
        "score": float(scores.max()) if len(scores) else None,
    }  # fmt: skip
