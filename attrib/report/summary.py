"""The short ranked summary printed at the end of ``attrib analyze``."""

from __future__ import annotations

from typing import Any

import pandas as pd

from attrib.report.token_view import token_access_view

__all__ = ["fit_reasons", "summary_text"]


def _cut(text: Any, width: int) -> str:
    s = "" if text is None or text is pd.NA else str(text)
    return s if len(s) <= width else s[: width - 1] + "\u2026"


def _base(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def fit_reasons(text: Any, width: int, sep: str = "; ") -> str:
    """Shorten a reasons text to ``width`` by dropping whole reasons, never cutting one.

    Parameters
    ----------
    text
        Reasons joined by ``sep`` (null: empty).
    width
        The room on the line. The first reason is kept whole even when it alone is wider.
    sep
        The separator between reasons.

    Returns
    -------
    str
        The reasons that fit, and ``(+N more)`` when some were dropped.
    """
    s = "" if text is None or text is pd.NA else str(text)
    parts = [p for p in s.split(sep) if p]
    for keep in range(len(parts), 0, -1):
        more = len(parts) - keep
        out = sep.join(parts[:keep]) + (f" (+{more} more)" if more else "")
        if len(out) <= width or keep == 1:
            return out
    return ""


def _inferred(ctx: dict[str, Any]) -> str:
    """``home_countries=DE, offices: 2 networks, ...`` for what the data filled in."""
    said = []
    for k in ctx.get("inferred") or ():
        v = ctx.get(k)
        if not v:
            continue
        if k in ("offices", "services"):
            said.append(f"{k}: {len(v)} network{'s' if len(v) != 1 else ''}")
        elif isinstance(v, list):
            said.append(f"{k}={','.join(map(str, v))}")
        else:
            said.append(f"{k}={v}")
    return ", ".join(said)


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
    inferred = _inferred(meta.get("context") or {})
    if inferred:
        lines.append(f"context inferred from the data: {inferred}")
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
            why = fit_reasons(r.get("reasons"), 90)
            lines.append(f"{head}{_cut(cl, 8):<8} {_cut(net, 32):<32} {why}")
    lines += _token_lines(o)
    if analysis.out is not None:
        lines.append(f"outputs: {analysis.out}/ (report.html, origins.csv, origins.parquet, "
                     f"clusters.csv, origins.ndjson, stix.json, run.json)")  # fmt: skip
    return "\n".join(lines)


def _token_lines(origins: pd.DataFrame, n: int = 5) -> list[str]:
    """The "access without sign-in" accounts (token-abuse evidence), if any."""
    view = token_access_view(origins)
    if not len(view):
        return []
    out = [f"mailbox access without sign-in (forged/stolen tokens?): {len(view):,} account(s)"]
    for r in view.head(n).to_dict("records"):
        origins_ = str(r["origins"]).split(";")
        out.append(
            f"  {_cut(r['account'], 40):<40} {r['items']:>7,} items from {len(origins_)} origin(s)"
            f" ({_cut(r['networks'], 60)}) with {_cut(r['apps'], 40)}"
        )
    return out


def _chains_line(counts: dict[str, Any]) -> str:
    chains, edges = int(counts.get("relay_chains") or 0), int(counts.get("chain_edges") or 0)
    if not chains:
        return "relay chains: none found (no address seen relaying: both legs at one address)"
    return (f"relay chains: {chains:,} (clusters R0001...; {edges:,} relayed connection(s) "
            "linked in to out)")  # fmt: skip
