"""Similarity graph of origins from shared traits, shared targets and hand-offs.

Every edge weight is a sum of evidence terms, each scaled by how *rare* the shared thing is
(IDF-like: ``log(N / df) / log(N)``), so a browser fingerprint shared by thousands of benign
users carries almost nothing while a tool's fingerprint shared by twenty exits carries a lot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__: list[str] = []


def idf(df: np.ndarray, n: int) -> np.ndarray:
    """Rarity weight in [0, 1]: 1 for a value shared by two origins, 0 for one everybody has."""
    n = max(n, 3)
    return np.clip(np.log(n / np.maximum(df, 2)) / np.log(n / 2), 0.0, 1.0)


def _pairs_within(groups: np.ndarray, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All unordered member pairs (i < j) within each group (vectorised self-join)."""
    left = pd.DataFrame({"g": groups, "i": members})
    j = left.merge(left, on="g", suffixes=("", "_b"))
    j = j[j["i"] < j["i_b"]]
    return j["i"].to_numpy(), j["i_b"].to_numpy()


def trait_edges(values: pd.Series, weight: float, max_group: int) -> pd.DataFrame:
    """Edges between origins with the same value of one trait.

    Parameters
    ----------
    values
        One trait per origin (positional), null = unknown.
    weight
        Weight of a perfectly rare shared value.
    max_group
        Values shared by more origins carry no edge (too common to mean one operator).

    Returns
    -------
    pandas.DataFrame
        ``a``, ``b`` (positions, a < b), ``w``.
    """
    v = values.reset_index(drop=True)
    counts = v.value_counts()
    df = v.map(counts).to_numpy(dtype=float, na_value=np.nan)
    m = v.notna().to_numpy() & (df >= 2) & (df <= max_group)
    if not m.any():
        return _empty()
    pos = np.flatnonzero(m)
    codes = pd.factorize(v[m])[0]
    a, b = _pairs_within(codes, pos)
    w = weight * idf(df[a], len(v))
    return pd.DataFrame({"a": a, "b": b, "w": w})


def account_edges(
    accounts: pd.Series,
    weight: float,
    max_group: int,
    min_shared: int = 2,
    n_accounts: pd.Series | None = None,
) -> pd.DataFrame:
    """Edges between origins targeting the same accounts beyond chance.

    The IDF-weighted cosine of the two account sets, scaled by how far the overlap exceeds what
    two random sets of those sizes would share (``1 - expected / shared``): an office and a
    spray exit both touch many of the same directory's accounts without being related.

    Parameters
    ----------
    accounts
        ``;``-joined account lists per origin (positional), null = none.
    weight
        Weight of identical rare target sets.
    max_group
        Accounts touched by more origins carry no edge.
    min_shared
        Fewer accounts in common link nobody (an account's owner and a spray both touch it).
    n_accounts
        True set sizes; origins whose list is truncated (size above the listed count) are
        left out, since their overlap cannot be measured.

    Returns
    -------
    pandas.DataFrame
        ``a``, ``b``, ``w``.
    """
    acc = accounts.reset_index(drop=True)
    txt = acc.dropna().astype(str)
    if n_accounts is not None:
        listed = txt.str.count(";") + 1
        full = n_accounts.reset_index(drop=True).reindex(listed.index).fillna(0) <= listed
        txt = txt[full.to_numpy()]
    s = txt.str.split(";").explode().astype(str)
    s = s[s.str.len() > 0]
    if not len(s):
        return _empty()
    ex = pd.DataFrame({"i": s.index.to_numpy(), "acct": s.to_numpy()}).drop_duplicates()
    universe = max(ex["acct"].nunique(), 1)
    size = ex.groupby("i").size()
    dfa = ex["acct"].map(ex["acct"].value_counts()).to_numpy(dtype=float)
    ex["q"] = idf(dfa, len(accounts))
    ex = ex[(dfa <= max_group) & (ex["q"] > 0)]
    norm = np.sqrt((ex["q"] ** 2).groupby(ex["i"]).sum())
    j = ex.merge(ex, on="acct", suffixes=("", "_b"))
    j = j[j["i"] < j["i_b"]]
    if not len(j):
        return _empty()
    grp = (j["q"] * j["q_b"]).groupby([j["i"], j["i_b"]])
    shared = grp.size()
    keep = shared >= min_shared  # one account in common is a coincidence
    dot, shared = grp.sum()[keep], shared[keep]
    if not len(dot):
        return _empty()
    a = dot.index.get_level_values(0).to_numpy()
    b = dot.index.get_level_values(1).to_numpy()
    cos = dot.to_numpy() / (norm.reindex(a).to_numpy() * norm.reindex(b).to_numpy())
    expected = size.reindex(a).to_numpy() * size.reindex(b).to_numpy() / universe
    excess = np.clip(1.0 - expected / shared.to_numpy(), 0.0, 1.0)
    return pd.DataFrame({"a": a, "b": b, "w": weight * cos * excess})


def handoff_edges(origins: pd.DataFrame, traits: list[str], weight: float) -> pd.DataFrame:
    """Edges between a look-alike predecessor and its successor (temporal hand-off).

    Parameters
    ----------
    origins
        Positional origins with ``first_seen``, ``last_seen`` and the trait columns.
    traits
        Trait columns that define "look-alike".
    weight
        Weight of an immediate hand-off.

    Returns
    -------
    pandas.DataFrame
        ``a``, ``b``, ``w``.
    """
    from attrib.features.time import handoff_pairs

    cols = [c for c in traits if c in origins.columns]
    if not cols or not {"first_seen", "last_seen"} <= set(origins.columns):
        return _empty()
    o = origins.reset_index(drop=True)
    o = o[o["first_seen"].notna() & o["last_seen"].notna()]
    p = handoff_pairs(o, cols)
    if not len(p):
        return _empty()
    pred, succ = p["pred"].to_numpy(dtype=np.int64), p["succ"].to_numpy(dtype=np.int64)
    a, b = np.minimum(pred, succ), np.maximum(pred, succ)
    return pd.DataFrame({"a": a, "b": b, "w": weight * p["w"].to_numpy()})


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"a": np.zeros(0, np.int64), "b": np.zeros(0, np.int64), "w": []})


def combine(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Sum evidence per origin pair."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty()
    e = pd.concat(parts, ignore_index=True)
    return e.groupby(["a", "b"], sort=False)["w"].sum().reset_index()
