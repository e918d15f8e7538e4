"""Parts of the HTML report computed in Python: the headline, the cluster graph, provenance.

Kept apart from :mod:`attrib.report.html` (which assembles the page) so each part can be read
and tested on its own; a new section adds a function here and a renderer in ``report.js``.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pandas as pd

from attrib._version import __version__

__all__ = [
    "GRAPH_CLUSTERS",
    "GRAPH_LABELS",
    "GRAPH_MEMBERS",
    "cluster_graph",
    "headline",
    "provenance_rows",
]

#: clusters drawn in the graph, members drawn per cluster, clusters whose name is printed
GRAPH_CLUSTERS, GRAPH_MEMBERS, GRAPH_LABELS = 12, 30, 6


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    """A column, or an all-null one when the table lacks it."""
    return df[name] if name in df.columns else pd.Series(None, index=df.index, dtype=object)


def _top(counter: Counter[str], n: int) -> str:
    return ", ".join(f"{k} {v}" for k, v in counter.most_common(n))


def headline(origins: pd.DataFrame, clusters: list[dict[str, Any]], threshold: float) -> list[str]:
    """Three lines saying what was found: campaigns, exits, accounts at risk.

    Parameters
    ----------
    origins
        The scored origins (all of them, not only those embedded).
    clusters
        The cluster records of the page (sorted by score, ``infrastructure`` flag).
    threshold
        The flagging score.

    Returns
    -------
    list of str
        Plain text, one line each.
    """
    score = pd.to_numeric(_col(origins, "score"), errors="coerce")
    flagged = origins[(score >= threshold).fillna(False).to_numpy()] if len(origins) else origins
    camps = [c for c in clusters if c.get("infrastructure", True) and c["score"] is not None
             and c["score"] >= threshold]  # fmt: skip
    if camps:
        shown = "; ".join(
            f"{c['cluster']} ({c['size']} origins, score {c['score']:.2f})" for c in camps[:3]
        )
        more = f" and {len(camps) - 3} more" if len(camps) > 3 else ""
        line1 = (f"{len(camps)} campaign{'s' if len(camps) != 1 else ''} (infrastructure "
                 f"clusters with flagged members): {shown}{more}")  # fmt: skip
    else:
        line1 = "No campaign: no infrastructure cluster has a flagged member."
    in_camp = {ip for c in camps for ip in c["members"]}
    n_in = int(flagged["ip"].astype(str).isin(in_camp).sum()) if len(flagged) else 0
    nets = Counter(str(x) for x in _col(flagged, "net_type").dropna())
    ccs = Counter(str(x) for x in _col(flagged, "country").dropna())
    line2 = (f"{len(flagged):,} exits flagged (score \u2265 {threshold:.2f}) of {len(origins):,} "
             f"origins, {n_in:,} of them in campaigns"
             + (f"; networks: {_top(nets, 3)}" if nets else "")
             + (f"; countries: {_top(ccs, 4)}" if ccs else ""))  # fmt: skip
    return [line1, line2, _accounts_line(flagged)]


def _accounts_line(flagged: pd.DataFrame) -> str:
    if "accounts" not in flagged.columns or flagged.empty:
        return "Accounts at risk: no account data (network logs only)."
    touched: Counter[str] = Counter()
    reached: set[str] = set()
    ok = pd.to_numeric(_col(flagged, "failure_ratio"), errors="coerce") < 1
    for accts, success in zip(flagged["accounts"], ok.fillna(False), strict=True):
        if accts is None or accts is pd.NA or not str(accts):
            continue
        names = [a for a in str(accts).split(";") if a]
        touched.update(names)
        if success:
            reached.update(names)
    if not touched:
        return "Accounts at risk: none touched by flagged exits."
    top = ", ".join(a for a, _ in touched.most_common(3))
    return (f"Accounts at risk: {len(touched):,} touched by flagged exits, {len(reached):,} of "
            f"them by exits that also signed in successfully; most targeted: {top}")  # fmt: skip


def cluster_graph(
    clusters: list[dict[str, Any]], by_ip: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The top clusters, their members and the ASNs several members share, laid out.

    Each cluster gets a cell of a grid (best score top left) with its best-scored members on a
    sunflower disc around it, so crowds never overlap; an ASN that several members of a cluster
    sit in is a node at the centre of those members. Only the best-scored clusters carry a
    printed label; every node has a hover title.
    """
    shown = clusters[:GRAPH_CLUSTERS]
    if not shown:
        return {"nodes": [], "edges": []}
    cols = max(1, math.ceil(math.sqrt(len(shown) * 1.5)))
    rows = math.ceil(len(shown) / cols)
    cw, ch = 580 / cols, 400 / rows
    radius = 0.36 * min(cw, ch - 14)
    nodes: list[dict[str, Any]] = []
    edges: list[list[int]] = []
    at: dict[str, int] = {}
    asn_members: dict[tuple[str, Any], list[int]] = {}
    for k, c in enumerate(shown):
        cx, cy = 10 + cw * (k % cols + 0.5), 14 + ch * (k // cols + 0.5)
        sc = "n/a" if c["score"] is None else f"{c['score']:.2f}"
        at[c["cluster"]] = len(nodes)
        nodes.append({"id": f"c:{c['cluster']}", "kind": "cluster", "label": c["cluster"],
                      "score": c["score"], "size": c["size"], "show_label": k < GRAPH_LABELS,
                      "x": round(cx, 1), "y": round(cy, 1), "ly": round(cy - radius - 6, 1),
                      "title": f"cluster {c['cluster']}: {c['size']} origins, score {sc}",
                      })  # fmt: skip
        ms = sorted(c["members"], key=lambda ip: -(by_ip.get(ip, {}).get("score") or 0.0))
        ms = ms[:GRAPH_MEMBERS]
        for j, ip in enumerate(ms):
            o = by_ip.get(ip, {})
            r = radius * math.sqrt((j + 0.5) / len(ms))
            a = j * 2.399963  # the golden angle
            where = f"{o.get('as_org') or ''} ({o.get('country') or '?'})"
            nodes.append({"id": f"o:{ip}", "kind": "origin", "label": ip, "score": o.get("score"),
                          "show_label": False, "x": round(cx + r * math.cos(a), 1),
                          "y": round(cy + r * math.sin(a), 1), "title": f"{ip} {where}",
                          })  # fmt: skip
            edges.append([at[c["cluster"]], len(nodes) - 1])
            if o.get("asn") is not None:
                asn_members.setdefault((c["cluster"], o["asn"]), []).append(len(nodes) - 1)
    for (cid, asn), idx in asn_members.items():
        if len(idx) < 2:  # only ASNs that link several origins are drawn
            continue
        org = by_ip.get(nodes[idx[0]]["label"], {}).get("as_org") or ""
        x = sum(nodes[i]["x"] for i in idx) / len(idx)
        y = sum(nodes[i]["y"] for i in idx) / len(idx)
        nodes.append({"id": f"a:{cid}:{asn}", "kind": "asn", "label": f"AS{asn}", "score": None,
                      "show_label": False, "x": round(x + 4, 1), "y": round(y + 4, 1),
                      "title": f"AS{asn} {org}: {len(idx)} origins"})  # fmt: skip
        edges += [[i, len(nodes) - 1] for i in idx]
    return {"nodes": nodes, "edges": edges}


def _join(values: Any, n: int = 6) -> str:
    vals = [str(v) for v in (values or [])]
    return ", ".join(vals[:n]) + (f" (+{len(vals) - n} more)" if len(vals) > n else "")


def provenance_rows(meta: dict[str, Any]) -> list[list[str]]:
    """Provenance as ``[section, item, value]`` rows of plain text (no raw JSON).

    Parameters
    ----------
    meta
        The run metadata (``run.json``).

    Returns
    -------
    list of list of str
        Rows in reading order.
    """
    rows: list[list[str]] = []

    def add(section: str, item: str, value: Any) -> None:
        if value not in (None, "", [], {}):
            rows.append([section, item, str(value)])

    add("run", "attrib", meta.get("attrib_version", __version__))
    add("run", "run id", meta.get("run_id"))
    add("run", "created (UTC)", meta.get("created"))
    add("run", "mode", meta.get("mode"))
    w = meta.get("window") or {}
    if w.get("start") or w.get("end"):
        add("run", "data window", f"{w.get('start') or '?'} \u2013 {w.get('end') or '?'}")
    read = meta.get("read") or {}
    if read:
        add("inputs", "files read", len(read.get("files", [])))
        add(
            "inputs", "rows read / skipped", f"{read.get('rows', 0):,} / {read.get('skipped', 0):,}"
        )
        add("inputs", "side files (not logs)", _join(read.get("side_files")))
    enr: dict[str, Any] = meta["enrichment"] if isinstance(meta.get("enrichment"), dict) else {}
    add("enrichment", "data version", meta.get("data_version") or enr.get("version"))
    bundle = enr.get("bundle") or {}
    if bundle:
        age = bundle.get("age_days")
        add("enrichment", "bundle built", f"{bundle.get('built')}"
            + (f" ({age:.0f} days old)" if isinstance(age, int | float) else ""))  # fmt: skip
        for name, up in (bundle.get("upstreams") or {}).items():
            add("enrichment", f"source: {name}", f"{up.get('package', '')} {up.get('version', '')}")
        for name, snap in (bundle.get("snapshots") or {}).items():
            add("enrichment", f"list: {name}",
                f"{snap.get('commit', '')} ({snap.get('licence', 'licence n/a')})")  # fmt: skip
    for db in enr.get("user_databases") or []:
        add("enrichment", "your database", f"{db.get('path', '')} {db.get('kind', '')}")
    add("model", "model", meta.get("model_id"))
    add("model", "model file", meta.get("model_path"))
    add("model", "sightings store", meta.get("store"))
    ctx = meta.get("context") or {}
    if ctx:
        inferred = set(ctx.get("inferred") or [])

        def said(key: str, value: Any) -> str:
            return f"{value} (inferred from the data)" if key in inferred else str(value)

        add("organisation", "name", ctx.get("name"))
        if ctx.get("home_countries"):
            add(
                "organisation",
                "home countries",
                said("home_countries", _join(ctx["home_countries"])),
            )
        add("organisation", "time zone, hours", f"{ctx.get('timezone')}, "
            f"{'-'.join(str(h) for h in ctx.get('work_hours') or [])}")  # fmt: skip
        if ctx.get("offices"):
            add("organisation", "offices", said("offices", _join(ctx["offices"])))
        if ctx.get("services"):
            add("organisation", "public services", said("services", _join(ctx["services"])))
        if ctx.get("accounts"):
            add("organisation", "accounts", said("accounts", ctx["accounts"]))
    for st in meta.get("stages", []):
        add("stages", str(st.get("stage")),
            f"{st.get('seconds', 0):.2f} s, peak {st.get('peak_rss_mb', 0):.0f} MB"
            + (f", {st['rows']:,} rows" if isinstance(st.get("rows"), int) else ""))  # fmt: skip
    for name, ver in (meta.get("versions") or {}).items():
        add("software", name, ver)
    return rows
