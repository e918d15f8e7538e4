"""Infrastructure clustering of origins: :class:`OriginClusterer`.

Origins are linked by evidence that one operator stands behind them — a rare TLS fingerprint
or TCP stack in common, the same target accounts, a hand-off in time between look-alikes, the
same /24 — each weighted by how rare the shared thing is among *all* origins, so traits that
thousands of benign users share (a stock browser, a carrier's pool) cannot glue an office or a
mobile network to an adversary's exits. Communities of that weighted graph (Louvain, seeded)
are the clusters. ``method="hdbscan"`` clusters an embedding of the same evidence instead;
``docs/clustering.md`` compares the two.
"""

from __future__ import annotations

import logging
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin

from attrib.cluster import _graph as g
from attrib.errors import ConfigError
from attrib.schema import CLUSTER_COLUMNS

__all__ = ["DEFAULT_TRAIT_WEIGHTS", "OriginClusterer", "summarize_clusters"]

logger = logging.getLogger(__name__)

#: origins column -> weight of sharing a perfectly rare value of it.
DEFAULT_TRAIT_WEIGHTS: dict[str, float] = {
    "top_ja4": 1.0,
    "top_tcp_fp": 0.6,
    "top_user_agent": 0.6,
    "target_set": 1.0,
    "net24": 0.4,
    "ja4_home": 0.6,
}
_HANDOFF_TRAITS = ["top_user_agent", "top_ja4", "top_tcp_fp", "target_set"]


class OriginClusterer(ClusterMixin, BaseEstimator):
    """Group origins into the infrastructure (clusters) they belong to.

    Parameters
    ----------
    method
        ``"graph"`` (weighted similarity graph + Louvain communities) or ``"hdbscan"``
        (HDBSCAN on an SVD embedding of the IDF-weighted trait/target tokens).
    trait_weights
        Origins column -> weight; default :data:`DEFAULT_TRAIT_WEIGHTS`. ``net24`` is derived
        from ``ip``.
    account_weight
        Weight of the IDF-weighted cosine similarity of the accounts two origins touched.
    handoff_weight
        Weight of an immediate hand-off between look-alike origins.
    max_group
        A value shared by more origins than this links nobody.
    min_idf
        Values rarer-weighted below this (too common) link nobody.
    min_weight
        Edges with less total evidence are dropped before community detection.
    resolution
        Louvain resolution (higher: smaller communities).
    min_cluster_size
        Smaller groups are left unclustered (label -1).
    random_state
        Seed of the community detection.
    exclude_own
        Leave the organisation's own addresses (``is_office == 1``: its office egress, from
        ``org.toml`` or inferred) out of the graph: they share accounts with everyone and
        would glue unrelated origins into one "infrastructure". They get label -1.

    Attributes
    ----------
    labels_ : numpy.ndarray
        Cluster label per origin (-1 = none).
    cluster_ids_ : pandas.Series
        Cluster id text per origin (``<NA>`` = none), aligned to the input index.
    clusters_ : pandas.DataFrame
        One row per cluster: :data:`attrib.schema.CLUSTER_COLUMNS` except ``score``;
        ``infrastructure`` is false for a cluster whose members share no trait (linked only
        by, e.g., the accounts they sprayed): a group, not evidence of one operator's network.
    edges_ : pandas.DataFrame
        The similarity edges used (``a``, ``b`` positions and ``w``), for inspection.

    Examples
    --------
    >>> c = OriginClusterer(random_state=0).fit(origins)  # doctest: +SKIP
    >>> c.clusters_[["cluster", "size", "shared_traits"]]  # doctest: +SKIP
    """

    def __init__(
        self,
        method: str = "graph",
        trait_weights: dict[str, float] | None = None,
        account_weight: float = 1.0,
        handoff_weight: float = 0.8,
        max_group: int = 200,
        min_idf: float = 0.3,
        min_weight: float = 0.15,
        resolution: float = 1.0,
        min_cluster_size: int = 2,
        random_state: int | None = 0,
        exclude_own: bool = True,
    ) -> None:
        self.method = method
        self.trait_weights = trait_weights
        self.account_weight = account_weight
        self.handoff_weight = handoff_weight
        self.max_group = max_group
        self.min_idf = min_idf
        self.min_weight = min_weight
        self.resolution = resolution
        self.min_cluster_size = min_cluster_size
        self.random_state = random_state
        self.exclude_own = exclude_own

    def fit(self, X: pd.DataFrame, y: Any = None) -> OriginClusterer:
        """Cluster the origins table.

        Parameters
        ----------
        X
            Origins (from :func:`attrib.features.build_origins`); uses ``ip``, ``first_seen``,
            ``last_seen``, trait columns, ``accounts`` and enrichment columns when present.
        y
            Ignored.

        Returns
        -------
        OriginClusterer
            ``self``.
        """
        if self.method not in ("graph", "hdbscan"):
            raise ConfigError(
                f"OriginClusterer: method must be 'graph' or 'hdbscan', not {self.method!r}"
            )
        o = _prepare(X.reset_index(drop=True))
        keep = np.flatnonzero(~_own(o)) if self.exclude_own else np.arange(len(o))
        sub = o.iloc[keep].reset_index(drop=True)
        self.edges_ = self._edges(sub)
        graph = self.method == "graph"
        raw = self._graph_labels(len(sub)) if graph else self._hdbscan_labels(sub)
        self.labels_ = np.full(len(o), -1, dtype=np.int64)
        self.labels_[keep] = _relabel(raw, sub, self.min_cluster_size)
        e = self.edges_
        self.edges_ = e.assign(a=keep[e["a"].to_numpy(dtype=np.int64)],
                               b=keep[e["b"].to_numpy(dtype=np.int64)])  # fmt: skip
        ids = pd.Series(pd.NA, index=X.index, dtype="string[pyarrow]")
        has = self.labels_ >= 0
        ids[has] = [f"C{n + 1:04d}" for n in self.labels_[has]]
        self.cluster_ids_ = ids
        self.clusters_ = summarize_clusters(o, self.labels_, list(self._weights()))
        logger.info("%d origins -> %d clusters", len(o), len(self.clusters_))
        return self

    def _weights(self) -> dict[str, float]:
        return dict(DEFAULT_TRAIT_WEIGHTS if self.trait_weights is None else self.trait_weights)

    def _edges(self, o: pd.DataFrame) -> pd.DataFrame:
        n = len(o)
        cap = self._cap(n)
        parts = [g.trait_edges(o[c], w, cap) for c, w in self._weights().items() if c in o]
        if "accounts" in o and self.account_weight > 0:
            n_acc = o["n_accounts"] if "n_accounts" in o else None
            parts.append(g.account_edges(o["accounts"], self.account_weight, cap, 2, n_acc))
        if self.handoff_weight > 0:
            common = [c for c in _HANDOFF_TRAITS if c in o]
            rare = o.copy()
            for c in common:  # only rare look-alikes count as a hand-off
                counts = rare[c].map(rare[c].value_counts())
                rare[c] = rare[c].where(
                    g.idf(counts.to_numpy(dtype=float, na_value=0.0), n) >= self.min_idf
                )
            parts.append(g.handoff_edges(rare, common, self.handoff_weight))
        e = g.combine(parts)
        return e[e["w"] >= self.min_weight].reset_index(drop=True)

    def _cap(self, n: int) -> int:
        """Largest sharing group still informative: ``max_group`` and the ``min_idf`` floor."""
        n3 = max(n, 3)
        by_idf = int(np.floor(n3 / (n3 / 2) ** self.min_idf))
        return max(2, min(self.max_group, by_idf))

    def _graph_labels(self, n: int) -> np.ndarray:
        labels = np.full(n, -1, dtype=np.int64)
        if not len(self.edges_):
            return labels
        graph = nx.Graph()
        graph.add_weighted_edges_from(
            zip(
                self.edges_["a"].tolist(),
                self.edges_["b"].tolist(),
                self.edges_["w"].tolist(),
                strict=True,
            )
        )
        comms = nx.community.louvain_communities(
            graph, weight="weight", resolution=self.resolution, seed=self.random_state
        )
        for k, members in enumerate(comms):
            labels[list(members)] = k
        return labels

    def _hdbscan_labels(self, o: pd.DataFrame) -> np.ndarray:
        from attrib.cluster._embed import embed_and_hdbscan

        return embed_and_hdbscan(o, self._weights(), self.account_weight, self._cap(len(o)),
                                 self.min_cluster_size, self.random_state)  # fmt: skip


def _own(o: pd.DataFrame) -> np.ndarray:
    """The organisation's own addresses (office egress), which never join a cluster."""
    if "is_office" not in o.columns:
        return np.zeros(len(o), dtype=bool)
    return pd.to_numeric(o["is_office"], errors="coerce").fillna(0).to_numpy() >= 1


def _prepare(o: pd.DataFrame) -> pd.DataFrame:
    """Derive ``net24`` and ``ja4_home``; a one-account target set is no evidence.

    ``ja4_home`` is the TLS fingerprint of origins on residential, mobile and business (small
    office) networks only: a stock client (Go's, python-requests') is common across hosting
    networks, where scripts and commodity tools run, but the same tool behind many home and
    small-office routers is an ORB signature, so its rarity is judged among those addresses.
    """
    if "target_set" in o.columns:
        size = pd.to_numeric(
            o["target_set"].astype("string").str.split(":").str[0], errors="coerce"
        )
        o = o.assign(target_set=o["target_set"].where(size.fillna(0).to_numpy() >= 2))
    if "top_ja4" in o.columns and "net_type" in o.columns and "ja4_home" not in o.columns:
        home = o["net_type"].astype("string").isin(["residential", "mobile", "business"]).to_numpy()
        o = o.assign(ja4_home=o["top_ja4"].astype("string").where(home))
    return _with_net24(o)


def _with_net24(o: pd.DataFrame) -> pd.DataFrame:
    if "ip" not in o.columns or "net24" in o.columns:
        return o
    ip = o["ip"].astype("string")
    v4 = ip.str.contains(".", regex=False).fillna(False)
    net = ip.str.rsplit(".", n=1).str[0].where(v4)
    v6 = ip.str.split(":").str[:3].str.join(":").where(~v4 & ip.notna())
    return o.assign(net24=net.fillna(v6).astype("string"))


def _relabel(raw: np.ndarray, o: pd.DataFrame, min_size: int) -> np.ndarray:
    """Drop small groups; number the rest by first sighting (deterministic ids)."""
    s = pd.Series(raw)
    sizes = s.map(s.value_counts())
    keep = (s >= 0) & (sizes >= min_size)
    out = np.full(len(raw), -1, dtype=np.int64)
    if not keep.any():
        return out
    first = o["first_seen"] if "first_seen" in o else pd.Series(0, index=o.index)
    order = (
        pd.DataFrame({"l": s[keep], "t": first[keep], "ip": o["ip"][keep] if "ip" in o else 0})
        .groupby("l").min().sort_values(["t", "ip"]).index
    )  # fmt: skip
    lut = {lab: k for k, lab in enumerate(order)}
    out[keep.to_numpy()] = s[keep].map(lut).to_numpy()
    return out


def summarize_clusters(o: pd.DataFrame, labels: np.ndarray, traits: list[str]) -> pd.DataFrame:
    """One row per cluster: members, span, shared traits, networks and countries spanned.

    Parameters
    ----------
    o
        Origins (positional).
    labels
        Cluster label per origin (-1 = none).
    traits
        Trait columns reported in ``shared_traits`` when most members share a value.

    Returns
    -------
    pandas.DataFrame
        :data:`attrib.schema.CLUSTER_COLUMNS` except ``score``.
    """
    cols = [c for c in CLUSTER_COLUMNS if c != "score"]
    m = labels >= 0
    if not m.any():
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    sub = o[m].assign(_l=labels[m])
    grp = sub.groupby("_l", sort=True)

    def joined(col: str) -> pd.Series:
        if col not in sub:
            return pd.Series("", index=grp.size().index)
        return grp[col].agg(lambda s: ";".join(sorted({str(x) for x in s.dropna()})))

    out = pd.DataFrame({
        "cluster": [f"C{k + 1:04d}" for k in grp.size().index],
        "size": grp.size().to_numpy(),
        "members": joined("ip").to_numpy(),
        "first_seen": grp["first_seen"].min().to_numpy() if "first_seen" in sub else pd.NaT,
        "last_seen": grp["last_seen"].max().to_numpy() if "last_seen" in sub else pd.NaT,
        "shared_traits": (shared := _shared(sub, grp, traits)).to_numpy(),
        "asns": joined("asn").to_numpy(),
        "countries": joined("country").to_numpy(),
        "net_types": joined("net_type").to_numpy(),
        "infrastructure": (shared.to_numpy(dtype=object) != "").astype(bool),
    })  # fmt: skip
    return out[cols]


def _shared(sub: pd.DataFrame, grp: Any, traits: list[str]) -> pd.Series:
    """``trait=value (k/n)`` for values at least half of a cluster's members share."""
    size = grp.size()
    parts = []
    for c in [t for t in traits if t in sub]:
        vc = sub.groupby(["_l", c], observed=True).size().reset_index(name="k")
        vc = vc.sort_values(["_l", "k"], ascending=[True, False], kind="stable")
        vc = vc.drop_duplicates("_l")
        n = size.reindex(vc["_l"]).to_numpy()
        vc = vc[(vc["k"].to_numpy() * 2 >= n) & (vc["k"].to_numpy() >= 2)]
        n = size.reindex(vc["_l"]).to_numpy()
        txt = (
            f"{c}="
            + vc[c].astype(str)
            + " ("
            + vc["k"].astype(str)
            + "/"
            + pd.Series(n, index=vc.index).astype(str)
            + ")"
        )
        parts.append(pd.DataFrame({"l": vc["_l"].to_numpy(), "t": txt.to_numpy()}))
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"l": [], "t": []})
    return df.groupby("l")["t"].agg("; ".join).reindex(size.index).fillna("")
