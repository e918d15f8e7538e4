"""The self-contained HTML report (``report.html``).

One file, usable offline and shareable by mail: CSS, JavaScript, data and the world outline are
inlined; a Content-Security-Policy forbids any network fetch. Sections: the ranked origins with
reasons and filters, a map of origins (an equirectangular SVG of Natural Earth land from the
``world-atlas`` package, see ``assets/world-atlas.LICENSE``), a graph of clusters (layout computed
here with networkx), a per-cluster timeline with hand-offs, and data and model provenance.
All data reaches the page as JSON and is inserted with ``textContent``, never as markup.
"""

from __future__ import annotations

import html
import json
import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd

from attrib._atomic import atomic_path
from attrib._version import __version__
from attrib.report.values import members, plain

__all__ = ["DEFAULT_MAX_ROWS", "render_html", "write_html"]

#: Origins embedded in the report (the best ranked; all cluster members are added on top).
DEFAULT_MAX_ROWS = 2000
_GRAPH_CLUSTERS, _GRAPH_MEMBERS = 25, 30
_ORIGIN_FIELDS = ("ip", "rank", "score", "cluster", "asn", "as_org", "net_type", "country",
                  "lat", "lon", "first_seen", "last_seen", "reasons")  # fmt: skip
_CLUSTER_FIELDS = ("cluster", "size", "first_seen", "last_seen", "score", "shared_traits",
                   "asns", "countries", "net_types")  # fmt: skip


@cache
def _asset(name: str) -> str:
    return resources.files("attrib.report").joinpath("assets", name).read_text(encoding="utf-8")


def _records(df: pd.DataFrame, fields: tuple[str, ...]) -> list[dict[Any, Any]]:
    cols = [c for c in fields if c in df.columns]
    out = []
    for rec in df[cols].to_dict("records"):
        r = {k: plain(v) for k, v in rec.items()}
        for k in fields:
            r.setdefault(k, None)
        out.append(r)
    return out


def _cluster_records(clusters: pd.DataFrame, origins: pd.DataFrame) -> list[dict[str, Any]]:
    recs = _records(clusters, _CLUSTER_FIELDS)
    cl = origins["cluster"].astype("string") if "cluster" in origins.columns else None
    for rec, raw in zip(recs, clusters.to_dict("records"), strict=True):
        ms = members(raw.get("members"))
        if not ms and cl is not None:
            ms = list(origins.loc[cl == str(rec["cluster"]), "ip"].astype(str))
        rec["members"] = ms
        rec["cluster"] = str(rec["cluster"])
        if rec["size"] is None:
            rec["size"] = len(ms)
    recs.sort(key=lambda r: -(r["score"] if r["score"] is not None else -1))
    return recs


def _graph(clusters: list[dict[str, Any]], by_ip: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Clusters, members and their ASNs, laid out with a seeded spring layout."""
    g: nx.Graph = nx.Graph()
    for c in clusters[:_GRAPH_CLUSTERS]:
        cid = f"c:{c['cluster']}"
        g.add_node(cid, kind="cluster", label=c["cluster"], score=c["score"],
                   title=f"cluster {c['cluster']}: {c['size']} origins")  # fmt: skip
        for ip in c["members"][:_GRAPH_MEMBERS]:
            o = by_ip.get(ip, {})
            where = f"{o.get('as_org') or ''} ({o.get('country') or '?'})"
            g.add_node(f"o:{ip}", kind="origin", label=ip, score=o.get("score"),
                       title=f"{ip} {where}")  # fmt: skip
            g.add_edge(cid, f"o:{ip}")
            if o.get("asn") is not None:
                a = f"a:{o['asn']}"
                g.add_node(a, kind="asn", label=f"AS{o['asn']}", score=None,
                           title=f"AS{o['asn']} {o.get('as_org') or ''}")  # fmt: skip
                g.add_edge(f"o:{ip}", a)
    if not g:
        return {"nodes": [], "edges": []}
    pos = nx.spring_layout(g, seed=7, k=1.2 / max(1, len(g)) ** 0.5)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    idx = {n: i for i, n in enumerate(g.nodes)}
    nodes = []
    for n, d in g.nodes(data=True):
        # label clusters, and only the ASNs that link several origins (less clutter)
        d["show_label"] = d["kind"] == "cluster" or (d["kind"] == "asn" and g.degree(n) > 1)
        x = 30 + 480 * (pos[n][0] - x0) / ((x1 - x0) or 1)
        y = 20 + 380 * (pos[n][1] - y0) / ((y1 - y0) or 1)
        nodes.append({**d, "id": n, "x": round(x, 1), "y": round(y, 1)})
    return {"nodes": nodes, "edges": [[idx[a], idx[b]] for a, b in g.edges]}


def _provenance(meta: dict[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = [["attrib", str(meta.get("attrib_version", __version__))]]
    for key, label in (("run_id", "run"), ("created", "created (UTC)"),
                       ("data_version", "enrichment data"), ("model_id", "model"),
                       ("model_path", "model file"), ("store", "sightings store")):  # fmt: skip
        if meta.get(key):
            rows.append([label, str(meta[key])])
    if isinstance(meta.get("enrichment"), dict):
        for name, info in meta["enrichment"].items():
            rows.append([f"data: {name}", json.dumps(info, default=str)[:300]])
    if meta.get("context"):
        rows.append(["organisation context", json.dumps(meta["context"], default=str)[:400]])
    read = meta.get("read") or {}
    if read:
        rows.append(["rows read / skipped", f"{read.get('rows', 0)} / {read.get('skipped', 0)}"])
    for st in meta.get("stages", []):
        took = f"{st.get('seconds', 0):.2f} s, peak {st.get('peak_rss_mb', 0):.0f} MB"
        rows.append([f"stage {st.get('stage')}", took])
    return rows


def render_html(
    origins: pd.DataFrame,
    clusters: pd.DataFrame,
    meta: dict[str, Any] | None = None,
    *,
    threshold: float = 0.5,
    max_rows: int = DEFAULT_MAX_ROWS,
    title: str = "attrib report",
) -> str:
    """Render the report as one HTML string.

    Parameters
    ----------
    origins
        The scored origins table (ranked).
    clusters
        The clusters table.
    meta
        Run metadata (the ``run.json`` content) for the provenance section.
    threshold
        Score from which an origin counts as flagged.
    max_rows
        How many of the best-ranked origins to embed.
    title
        Page title.

    Returns
    -------
    str
        The complete document.
    """
    meta = dict(meta or {})
    ranked = origins.sort_values("rank") if "rank" in origins.columns else origins
    top = ranked.head(max_rows)
    crecs = _cluster_records(clusters, origins)
    shown = set(top["ip"].astype(str))
    need = {ip for c in crecs for ip in c["members"]} - shown
    extra = ranked[ranked["ip"].astype(str).isin(need)]
    orecs, xrecs = _records(top, _ORIGIN_FIELDS), _records(extra, _ORIGIN_FIELDS)
    by_ip = {r["ip"]: r for r in orecs + xrecs}
    score = origins["score"].astype("Float64") if "score" in origins.columns else None
    data = {
        "meta": meta, "threshold": threshold, "n_origins": len(origins),
        "n_flagged": int((score >= threshold).sum()) if score is not None else 0,
        "origins": orecs, "extra_members": xrecs, "clusters": crecs,
        "graph": _graph(crecs, by_ip), "provenance": _provenance(meta),
    }  # fmt: skip
    blob = json.dumps(data, default=str, ensure_ascii=False, allow_nan=False)
    blob = blob.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    page = _asset("report.html")
    world = _asset("world-110m.svgpath").strip()
    for key, value in (("{{CSS}}", _asset("report.css")), ("{{JS}}", _asset("report.js")),
                       ("{{WORLD}}", world), ("{{TITLE}}", html.escape(title)),
                       ("{{VERSION}}", html.escape(__version__)), ("{{DATA}}", blob)):  # fmt: skip
        page = page.replace(key, value)
    return page


def write_html(
    origins: pd.DataFrame,
    clusters: pd.DataFrame,
    path: str | os.PathLike[str],
    meta: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Path:
    """Write :func:`render_html` to ``path``, atomically.

    Parameters
    ----------
    origins, clusters, meta
        As for :func:`render_html`.
    path
        Target file (``report.html``).
    **kwargs
        Passed to :func:`render_html`.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    t = Path(path)
    doc = render_html(origins, clusters, meta, **kwargs)
    with atomic_path(t) as tmp:
        tmp.write_text(doc, encoding="utf-8")
    return t
