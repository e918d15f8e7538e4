"""The self-contained HTML report (``report.html``).

One file, usable offline and shareable by mail: CSS, JavaScript, data and the world outline are
inlined; a Content-Security-Policy forbids any network fetch. Sections: the ranked origins with
reasons and filters, a map of origins (an equirectangular SVG of Natural Earth land from the
``world-atlas`` package, see ``assets/world-atlas.LICENSE``), a graph of clusters (layout computed
here with networkx), a per-cluster timeline with hand-offs, and data and model provenance.
At the top, three lines say what was found (campaigns, exits, accounts at risk); the table and
the timeline are paged so the page stays a few screens tall whatever the run's size.
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

import pandas as pd

from attrib._atomic import atomic_path
from attrib._version import __version__
from attrib.report.parts import cluster_graph, headline, provenance_rows
from attrib.report.token_view import TOKEN_VIEW_COLUMNS, token_access_view
from attrib.report.values import members, plain

__all__ = [
    "DEFAULT_MAX_CLUSTERS",
    "DEFAULT_MAX_ROWS",
    "MAX_EXTRA_MEMBERS",
    "MAX_MEMBERS",
    "render_html",
    "write_html",
]

#: Origins embedded in the report (the best ranked; cluster members are added on top, at most
#: :data:`MAX_EXTRA_MEMBERS`).
DEFAULT_MAX_ROWS = 2000
#: Clusters embedded (infrastructure first, best score first); the rest are counted.
DEFAULT_MAX_CLUSTERS = 200
#: Members embedded per cluster (the best ranked).
MAX_MEMBERS = 500
#: Cluster members outside the top origins embedded at most (best clusters first).
MAX_EXTRA_MEMBERS = 2000
_ORIGIN_FIELDS = ("ip", "rank", "score", "cluster", "asn", "as_org", "net_type", "country",
                  "lat", "lon", "first_seen", "last_seen", "reasons",
                  "counter_evidence")  # fmt: skip
_CLUSTER_FIELDS = ("cluster", "size", "first_seen", "last_seen", "score", "shared_traits",
                   "asns", "countries", "net_types", "infrastructure")  # fmt: skip


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
    """Every cluster with its full member list, infrastructure first, best score first."""
    recs = _records(clusters, _CLUSTER_FIELDS)
    cl = origins["cluster"].astype("string") if "cluster" in origins.columns else None
    by_cluster = (  # one pass over the origins, for clusters whose table gives no members
        origins["ip"].astype(str).groupby(cl.to_numpy(), sort=False).agg(list).to_dict()
        if cl is not None
        else {}
    )
    for rec, raw in zip(recs, clusters.to_dict("records"), strict=True):
        ms = members(raw.get("members"))
        if not ms:
            ms = list(by_cluster.get(str(rec["cluster"]), []))
        rec["members"] = ms
        rec["cluster"] = str(rec["cluster"])
        if rec["size"] is None:
            rec["size"] = len(ms)
        rec["infrastructure"] = rec["infrastructure"] is not False
    recs.sort(
        key=lambda r: (not r["infrastructure"], -(r["score"] if r["score"] is not None else -1))
    )
    return recs


def _embedded(
    crecs: list[dict[str, Any]], rank: dict[str, int], shown: set[str], budget: int
) -> tuple[list[dict[str, Any]], set[str]]:
    """The clusters the page carries, each with its best-ranked members, and the extra members.

    At most :data:`DEFAULT_MAX_CLUSTERS` clusters and :data:`MAX_MEMBERS` members each; members
    outside the top origins (``shown``) are added while ``budget`` lasts
    (:data:`MAX_EXTRA_MEMBERS`). ``members_total``
    keeps the full count, so the page size follows these bounds, not the number of origins.
    """
    out: list[dict[str, Any]] = []
    extra: set[str] = set()
    last = len(rank)
    for c in crecs[:DEFAULT_MAX_CLUSTERS]:
        ms = sorted(c["members"], key=lambda ip: rank.get(ip, last))[:MAX_MEMBERS]
        keep = []
        for ip in ms:
            if ip in shown or ip in extra:
                keep.append(ip)
            elif len(extra) < budget and ip in rank:
                extra.add(ip)
                keep.append(ip)
        out.append({**c, "members": keep, "members_total": len(c["members"])})
    return out, extra


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
    every = _cluster_records(clusters, origins)
    ips = ranked["ip"].astype(str)
    rank = dict(zip(ips, range(len(ips)), strict=True))
    shown = set(ips.iloc[:max_rows])
    crecs, need = _embedded(every, rank, shown, budget=MAX_EXTRA_MEMBERS)
    extra = ranked[ips.isin(need).to_numpy()]
    orecs, xrecs = _records(top, _ORIGIN_FIELDS), _records(extra, _ORIGIN_FIELDS)
    by_ip = {r["ip"]: r for r in orecs + xrecs}
    score = origins["score"].astype("Float64") if "score" in origins.columns else None
    data = {
        "meta": meta, "threshold": threshold, "n_origins": len(origins),
        "n_flagged": int((score >= threshold).sum()) if score is not None else 0,
        "n_clusters": len(every), "origins": orecs, "extra_members": xrecs, "clusters": crecs,
        "headline": headline(origins, every, threshold),
        "graph": cluster_graph(crecs, by_ip), "provenance": provenance_rows(meta),
        "token_access": _records(token_access_view(origins, threshold), TOKEN_VIEW_COLUMNS),
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
