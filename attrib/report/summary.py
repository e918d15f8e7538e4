"""The short ranked summary printed at the end of ``attrib analyze``."""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["summary_text"]


def _cut(text: Any, width: int) -> str:
    s = "" if text is None or text is pd.NA else str(text)
    return s if len(s) <= width else s[: width - 1] + "\u2026"


def _base(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def summary_text(analysis: Any, n: int = 10) -> str:
    """Render the summary of an :class:`~attrib.analysis.Analysis`.

    Parameters
    ----------
    analysis
        The analysis.
    n
        How many top origins.

    Returns
    -------
    str
        Lines of text, no trailing newline.
    """
    rep = analysis.read_report
    meta = analysis.meta
    lines = [
        f"read {rep.rows:,} rows from {len(rep.files)} file(s)"
        + (f", {rep.skipped:,} bad rows skipped" if rep.skipped else "")
    ]
    if rep.failed:
        names = ", ".join(p for p, _ in rep.failed[:5]) + (" ..." if len(rep.failed) > 5 else "")
        lines.append(f"warning: {len(rep.failed)} unreadable file(s) skipped: {names}")
    unused = [f for f in rep.files if f.unused and not f.rows]
    if unused:  # e.g. Zeek x509/dhcp/arp logs: read, but nothing in them names a connection
        names = ", ".join(_base(f.path) for f in unused[:8]) + (" ..." if len(unused) > 8 else "")
        lines.append(f"not used: {len(unused)} file(s) without connection endpoints: {names}")
    ctx = meta.get("context") or {}
    if ctx.get("inferred"):
        lines.append(
            "context inferred from the data: "
            + ", ".join(f"{k}={ctx.get(k)}" for k in ctx["inferred"] if k != "services")
            + (" (and services)" if "services" in ctx["inferred"] else "")
        )
    way = meta.get("direction") or {}
    if way.get("mode"):
        ev = way.get("evidence") or {}
        how = (f"inferred: {ev.get('inbound', 0):,} connections in from public addresses, "
               f"{ev.get('outbound', 0):,} out from internal hosts"
               + (f", {ev.get('identity', 0):,} sign-in/audit events" if ev.get("identity") else "")
               + "; --direction to choose") if way.get("inferred") else "as requested"  # fmt: skip
        lines.append(f"direction: {way['mode']} ({how})")
    th = float(meta.get("threshold", 0.5))
    o = analysis.origins
    flagged = int((o["score"] >= th).sum()) if len(o) else 0
    lines.append(
        f"{len(o):,} origins, {len(analysis.clusters):,} clusters, "
        f"{flagged:,} flagged (score >= {th:.2f})"
    )
    if not len(o) and meta.get("no_origins_reason"):
        lines.append(f"no origins: {meta['no_origins_reason']}")
    counts = meta.get("counts") or {}
    if "relay_chains" in counts:  # the run looked for relay chains
        lines.append(_chains_line(counts))
    if len(o):
        lines.append(f"{'rank':>4}  {'origin':<39} {'score':>5}  {'cluster':<8} "
                     f"{'network':<32} reasons")  # fmt: skip
        top = o.sort_values("rank").head(n)
        for r in top.to_dict("records"):
            asn = r.get("asn")
            net = f"AS{asn} " if asn is not None and asn is not pd.NA else ""
            net += f"{_cut(r.get('as_org'), 18)} ({_cut(r.get('country'), 2) or '?'})"
            cl = r.get("cluster")
            cl = "" if cl is None or cl is pd.NA else str(cl)
            head = f"{int(r['rank']):>4}  {r['ip']:<39} {float(r['score']):>5.2f}  "
            lines.append(f"{head}{_cut(cl, 8):<8} {_cut(net, 32):<32} {_cut(r.get('reasons'), 90)}")
    if analysis.out is not None:
        lines.append(f"outputs: {analysis.out}/ (report.html, origins.csv, origins.parquet, "
                     f"clusters.csv, origins.ndjson, stix.json, run.json)")  # fmt: skip
    return "\n".join(lines)


def _chains_line(counts: dict[str, Any]) -> str:
    chains, edges = int(counts.get("relay_chains") or 0), int(counts.get("chain_edges") or 0)
    if not chains:
        return "relay chains: none found (no address seen relaying: both legs at one address)"
    return (f"relay chains: {chains:,} (clusters R0001...; {edges:,} relayed connection(s) "
            "linked in to out)")  # fmt: skip
