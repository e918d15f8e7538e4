"""Matplotlib plots of an analysis, for notebooks (``pip install 'attrib[notebook]'``).

matplotlib is imported on first use; without it the functions raise
:class:`~attrib.errors.ConfigError` with the install hint.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from attrib.errors import ConfigError
from attrib.report.values import members as _members

__all__ = ["handoffs", "plot_graph", "plot_map", "plot_timeline"]


def _plt() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("plotting needs matplotlib: pip install 'attrib[notebook]'") from None
    return plt


def _ax(ax: Any, size: tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    _, ax = _plt().subplots(figsize=size)
    return ax


@cache
def _world_polys() -> list[np.ndarray]:
    """Land polygons (lon, lat) from the report's bundled Natural Earth outline."""
    d = resources.files("attrib.report").joinpath("assets", "world-110m.svgpath").read_text()
    polys = []
    for part in d.strip().split("M")[1:]:
        pts = [p.split() for p in part.rstrip("Z").split("L")]
        xy = np.array([(float(x) - 180, 90 - float(y)) for x, y in pts])
        polys.append(xy)
    return polys


def plot_map(origins: pd.DataFrame, ax: Any = None, min_score: float = 0.0) -> Any:
    """Origins on a world map (equirectangular), size and colour by score.

    Parameters
    ----------
    origins
        Origins with ``lat``, ``lon``, ``score``.
    ax
        A matplotlib axes; a new figure when None.
    min_score
        Leave out origins scored below this.

    Returns
    -------
    matplotlib.axes.Axes
        The axes.
    """
    plt = _plt()
    from matplotlib.patches import Polygon

    ax = _ax(ax, (11, 5.5))
    for xy in _world_polys():
        ax.add_patch(Polygon(xy, closed=True, facecolor="#e4e7ec", edgecolor="#c5cad3", lw=0.3))
    o = origins.dropna(subset=["lat", "lon"])
    o = o[o["score"].astype(float) >= min_score].sort_values("score")
    score = o["score"].astype(float)
    sc = ax.scatter(o["lon"].astype(float), o["lat"].astype(float), s=8 + 60 * score, c=score,
                    cmap="RdYlGn_r", vmin=0, vmax=1, edgecolors="white", lw=0.3)  # fmt: skip
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.set_aspect("equal")
    ax.set_xticks(range(-180, 181, 60))
    ax.set_yticks(range(-90, 91, 30))
    ax.grid(True, lw=0.3, alpha=0.5)
    ax.set_title(f"Origins ({len(o)}), coloured by score")
    plt.colorbar(sc, ax=ax, shrink=0.7, label="score")
    return ax


def handoffs(members: pd.DataFrame, max_gap_h: float = 48.0) -> list[tuple[str, str]]:
    """Pairs (previous exit, next exit) where one stops about when the next starts.

    The next exit starts at most ``max_gap_h`` after the previous one's last sighting, overlaps
    it by at most half of the previous exit's life, and outlives it. Same rule as the report.
    """
    m = members.dropna(subset=["first_seen", "last_seen"]).sort_values("first_seen")
    out = []
    rows = m.to_dict("records")
    for p, o in zip(rows, rows[1:], strict=False):
        gap = (o["first_seen"] - p["last_seen"]) / pd.Timedelta(hours=1)
        life = (p["last_seen"] - p["first_seen"]) / pd.Timedelta(hours=1)
        if gap < max_gap_h and -gap <= life / 2 and o["last_seen"] > p["last_seen"]:
            out.append((str(p["ip"]), str(o["ip"])))
    return out


def plot_timeline(members: pd.DataFrame, cluster: str = "", ax: Any = None) -> Any:
    """One bar per exit of a cluster, first to last sighting; hand-offs as dashed links.

    Parameters
    ----------
    members
        The cluster's origins (``ip``, ``first_seen``, ``last_seen``, ``score``).
    cluster
        Its id, for the title.
    ax
        A matplotlib axes; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The axes.
    """
    plt = _plt()
    import matplotlib.dates as mdates

    m = members.dropna(subset=["first_seen", "last_seen"]).sort_values("first_seen")
    m = m.reset_index(drop=True)
    ax = _ax(ax, (11, 0.8 + 0.3 * max(len(m), 3)))
    cmap = plt.get_cmap("RdYlGn_r")
    start = mdates.date2num(m["first_seen"].dt.tz_convert(None))
    end = mdates.date2num(m["last_seen"].dt.tz_convert(None))
    width = np.maximum(end - start, 1 / 96)
    ax.barh(range(len(m)), width, left=start, height=0.6,
            color=[cmap(float(s)) for s in m["score"].astype(float)])  # fmt: skip
    row = {ip: i for i, ip in enumerate(m["ip"])}
    for a, b in handoffs(m):
        i, j = row[a], row[b]
        ax.plot([end[i], start[j]], [i, j], ls="--", color="#b42318", lw=1)
    ax.set_yticks(range(len(m)))
    ax.set_yticklabels(m["ip"], fontsize=8)
    ax.invert_yaxis()
    ax.xaxis_date()
    ax.set_title(f"Cluster {cluster}: {len(m)} exits, {len(handoffs(m))} hand-offs")
    return ax


def plot_graph(
    origins: pd.DataFrame, clusters: pd.DataFrame, ax: Any = None, max_clusters: int = 10
) -> Any:
    """Clusters, their member origins and the ASNs those sit in.

    Parameters
    ----------
    origins, clusters
        The analysis tables.
    ax
        A matplotlib axes; a new figure when None.
    max_clusters
        Draw the most suspicious clusters only.

    Returns
    -------
    matplotlib.axes.Axes
        The axes.
    """
    _plt()
    import networkx as nx

    ax = _ax(ax, (9, 7))
    g: nx.Graph = nx.Graph()
    by_ip = origins.set_index("ip")
    top = clusters.sort_values("score", ascending=False).head(max_clusters)
    for c in top.to_dict("records"):
        cid = f"cluster {c['cluster']}"
        g.add_node(cid, kind="cluster")
        for ip in _members(c.get("members")):
            g.add_node(ip, kind="origin")
            g.add_edge(cid, ip)
            asn = by_ip["asn"].get(ip) if ip in by_ip.index else None
            if asn is not None and asn is not pd.NA:
                g.add_node(f"AS{asn}", kind="asn")
                g.add_edge(ip, f"AS{asn}")
    pos = nx.spring_layout(g, seed=7)
    colors = {"cluster": "#b42318", "origin": "#f79009", "asn": "#98a2b3"}
    nx.draw_networkx_edges(g, pos, ax=ax, edge_color="#c5cad3")
    for kind, shape in (("cluster", "s"), ("origin", "o"), ("asn", "D")):
        nodes = [n for n, d in g.nodes(data=True) if d["kind"] == kind]
        size = 120 if kind != "origin" else 40
        nx.draw_networkx_nodes(g, pos, nodelist=nodes, node_shape=shape, ax=ax,
                               node_color=colors[kind], node_size=size)  # fmt: skip
    labels = {n: n for n, d in g.nodes(data=True) if d["kind"] != "origin"}
    nx.draw_networkx_labels(g, pos, labels=labels, font_size=8, ax=ax)
    n_origins = sum(1 for _, d in g.nodes(data=True) if d["kind"] == "origin")
    ax.set_title(f"{len(top)} clusters, {n_origins} origins")
    ax.axis("off")
    return ax
