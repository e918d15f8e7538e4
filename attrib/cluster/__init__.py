"""Infrastructure: origins clustered by shared operator evidence, and relay chains.

- :mod:`attrib.cluster.clusterer` — :class:`OriginClusterer` (estimator), cluster summaries;
- :mod:`attrib.cluster.chains` — relay-chain linkage where both legs are seen at one address.
"""

from attrib.cluster.chains import CHAIN_EDGE_COLUMNS, chain_clusters, find_relays, link_chains
from attrib.cluster.clusterer import DEFAULT_TRAIT_WEIGHTS, OriginClusterer, summarize_clusters

__all__ = [
    "CHAIN_EDGE_COLUMNS",
    "DEFAULT_TRAIT_WEIGHTS",
    "chain_clusters",
    "OriginClusterer",
    "find_relays",
    "link_chains",
    "summarize_clusters",
]
