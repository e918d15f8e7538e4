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


def plot_timeline(
    members: pd.DataFrame, cluster: str = "", ax: Any = None, max_rows: int | None = 30
) -> Any:
    """One bar per exit of a cluster, first to last sighting; hand-offs as dashed links.

    Parameters
    ----------
    members
        The cluster's origins (``ip``, ``first_seen``, ``last_seen``, ``score``).
    cluster
        Its id, for the title.
    ax
        A matplotlib axes; a new figure when None.
    max_rows
        Draw the best-scored exits only (in time order), so a big cluster stays a readable
        figure; ``None`` draws all. Hand-offs in the title count the whole cluster.

    Returns
    -------
    matplotlib.axes.Axes
        The axes.
    """
    plt = _plt()
    import matplotlib.dates as mdates

    m = members.dropna(subset=["first_seen", "last_seen"])
    total, n_handoffs = len(m), len(handoffs(m))
    if max_rows is not None and len(m) > max_rows:
        m = m.assign(_s=m["score"].astype(float)).sort_values(["_s", "first_seen"],
                                                               ascending=[False, True])  # fmt: skip
        m = m.head(max_rows).drop(columns="_s")
    m = m.sort_values("first_seen").reset_index(drop=True)
    ax = _ax(ax, (11, 1.2 + 0.26 * max(len(m), 3)))
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
    drawn = f" ({len(m)} best-scored drawn)" if len(m) < total else ""
    ax.set_title(f"Cluster {cluster}: {total} exits{drawn}, {n_handoffs} hand-offs")
    return ax


def plot_graph(
    origins: pd.DataFrame, clusters: pd.DataFrame, ax: Any = None, max_clusters: int = 10
) -> Any:
    """The most suspicious clusters, their best-scored members and the ASNs they share.

    The report's layout (:func:`attrib.report.parts.cluster_graph`): one grid cell per
    cluster, members around it coloured by score, only the top clusters named.

    Parameters
    ----------
    origins, clusters
        The analysis tables.
    ax
        A matplotlib axes; a new figure when None.
    max_clusters
        Draw the most suspicious clusters only (at most 12).

    Returns
    -------
    matplotlib.axes.Axes
        The axes.
    """
    plt = _plt()
    from attrib.report.parts import cluster_graph
    from attrib.report.values import plain

    ax = _ax(ax, (10, 7))
    recs: list[dict[str, Any]] = []
    for c in clusters.to_dict("records"):
        infra = plain(c.get("infrastructure")) is not False
        recs.append({"cluster": str(c["cluster"]), "size": int(c.get("size") or 0),
                     "score": plain(c.get("score")) if infra else None, "infrastructure": infra,
                     "members": _members(c.get("members"))})  # fmt: skip
    recs.sort(key=lambda r: (not r["infrastructure"], -(r["score"] or -1.0)))
    cols = [c for c in ("ip", "score", "asn", "as_org", "country") if c in origins.columns]
    by_ip = {str(r["ip"]): {str(k): plain(v) for k, v in r.items()}
             for r in origins[cols].to_dict("records")}  # fmt: skip
    g = cluster_graph(recs[:max_clusters], by_ip)
    nodes = g["nodes"]
    for a, b in g["edges"]:
        ax.plot([nodes[a]["x"], nodes[b]["x"]], [nodes[a]["y"], nodes[b]["y"]],
                color="#c5cad3", lw=0.5, zorder=1)  # fmt: skip
    cmap = plt.get_cmap("RdYlGn_r")
    for kind, shape, size in (("asn", "D", 18), ("origin", "o", 16), ("cluster", "s", 90)):
        ns = [n for n in nodes if n["kind"] == kind]
        if not ns:
            continue
        col = ["#d0d5dd" if n["score"] is None else cmap(float(n["score"])) for n in ns]
        z = 3 if kind == "cluster" else 2
        ax.scatter([n["x"] for n in ns], [n["y"] for n in ns], s=size, c=col, marker=shape,
                   edgecolors="white", linewidths=0.4, zorder=z)  # fmt: skip
    for n in nodes:
        if n["show_label"]:
            sc = "n/a" if n["score"] is None else f"{n['score']:.2f}"
            ax.text(n["x"], n["ly"], f"{n['label']} · {n['size']} · {sc}", ha="center",
                    va="bottom", fontsize=9, weight="bold")  # fmt: skip
    ax.set_xlim(0, 600)
    ax.set_ylim(420, 0)
    n_origins = sum(1 for n in nodes if n["kind"] == "origin")
    n_cl = sum(1 for n in nodes if n["kind"] == "cluster")
    ax.set_title(f"{n_cl} clusters, {n_origins} origins")
    ax.axis("off")
    return ax
