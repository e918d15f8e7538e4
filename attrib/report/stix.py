"""Flagged infrastructure as a STIX 2.1 bundle (built with the ``stix2`` library).

For every cluster whose score reaches the threshold: an ``infrastructure`` object (types from
the STIX vocabulary: ``anonymization``, plus ``botnet`` when its exits are mostly residential or
mobile, i.e. compromised home routers), an ``ipv4-addr``/``ipv6-addr`` and an ``indicator`` with
a STIX pattern per flagged member (members below the threshold are counted, not exported), and
relationships (indicator *indicates* infrastructure, infrastructure *consists-of* address).
Flagged origins outside any cluster get an indicator of their own. Reasons go into the
descriptions. Everything is created by one ``identity`` (attrib) so receivers can tell its
source.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import stix2

from attrib._atomic import atomic_path
from attrib.report.values import iso, members, plain

__all__ = ["DEFAULT_THRESHOLD", "stix_bundle", "write_stix"]

#: Origins and clusters scored at or above this are exported.
DEFAULT_THRESHOLD = 0.5

_IDENTITY = stix2.Identity(
    id="identity--6d1ba7a3-3d4c-4d0c-9a63-0a4e4b9c7a21",
    name="attrib",
    identity_class="system",
    description="attrib: ORB proxy-network analyser",
    created="2026-01-01T00:00:00.000Z",
    modified="2026-01-01T00:00:00.000Z",
)


def _addr(ip: str) -> stix2.IPv4Address | stix2.IPv6Address:
    if ipaddress.ip_address(ip).version == 6:
        return stix2.IPv6Address(value=ip)
    return stix2.IPv4Address(value=ip)


def _pattern(ip: str) -> str:
    kind = "ipv6-addr" if ipaddress.ip_address(ip).version == 6 else "ipv4-addr"
    return f"[{kind}:value = '{ip}']"


def _infra_types(rows: pd.DataFrame) -> list[str]:
    types = ["anonymization"]
    nt = rows["net_type"].astype("string") if "net_type" in rows.columns else pd.Series([])
    if len(nt) and nt.isin(["residential", "mobile"]).mean() >= 0.5:
        types.append("botnet")
    return types


def _indicator(row: dict[Any, Any], cluster_name: str | None) -> stix2.Indicator:
    ip = str(row["ip"])
    valid_from = iso(row.get("first_seen")) or str(iso(pd.Timestamp.now(tz="UTC")))
    score = plain(row.get("score"))
    where = ", ".join(str(x) for x in (plain(row.get("as_org")), plain(row.get("country"))) if x)
    desc = f"Origin {ip}" + (f" ({where})" if where else "")
    if cluster_name:
        desc += f", member of {cluster_name}"
    if score is not None:
        desc += f"; attrib score {float(score):.2f}"
    if plain(row.get("reasons")):
        desc += f". Reasons: {row['reasons']}"
    types = ["anonymization"]
    if str(plain(row.get("net_type"))) in ("residential", "mobile"):
        types.append("compromised")
    kw: dict[str, Any] = {}
    last = iso(row.get("last_seen"))
    if last and last > valid_from:
        kw["valid_until"] = last
    return stix2.Indicator(
        name=f"attrib origin {ip}", description=desc, pattern=_pattern(ip), pattern_type="stix",
        valid_from=valid_from, indicator_types=types, created_by_ref=_IDENTITY.id,
        confidence=int(round(100 * float(score))) if score is not None else None,
        labels=["attrib", "orb"], **kw,
    )  # fmt: skip


def _seen(crow: dict[Any, Any]) -> dict[str, Any]:
    """``first_seen``/``last_seen`` of a clusters row as STIX wants them (last >= first)."""
    kw: dict[str, Any] = {}
    first, last = iso(crow.get("first_seen")), iso(crow.get("last_seen"))
    if first:
        kw["first_seen"] = first
    if last and (not first or last >= first):
        kw["last_seen"] = last
    return kw


def _cluster_objects(crow: dict[Any, Any], rows: pd.DataFrame, threshold: float) -> list[Any]:
    cid = str(crow["cluster"])
    name = f"attrib cluster {cid}"
    # only flagged members are exported (a large cluster may hold many unremarkable origins)
    flagged = rows[(rows["score"].astype("Float64") >= threshold).fillna(False).to_numpy(bool)]
    reasons = "; ".join(dict.fromkeys(r for r in flagged["reasons"].dropna().astype(str) if r))
    desc = f"Proxy infrastructure cluster {cid}: {len(rows)} origin(s), {len(flagged)} flagged"
    for key, label in (("shared_traits", "shared traits"), ("asns", "ASNs"),
                       ("countries", "countries"), ("net_types", "network types")):  # fmt: skip
        if plain(crow.get(key)):
            desc += f"; {label}: {crow[key]}"
    if reasons:
        desc += f". Member reasons: {reasons[:2000]}"
    kw = _seen(crow)
    infra = stix2.Infrastructure(
        name=name, description=desc, infrastructure_types=_infra_types(rows),
        created_by_ref=_IDENTITY.id, labels=["attrib", "orb"], **kw,
    )  # fmt: skip
    objs: list[Any] = [infra]
    for row in flagged.to_dict("records"):
        addr = _addr(str(row["ip"]))
        ind = _indicator(row, name)
        by = _IDENTITY.id
        objs += [addr, stix2.Relationship(infra, "consists-of", addr, created_by_ref=by),
                 ind, stix2.Relationship(ind, "indicates", infra, created_by_ref=by)]  # fmt: skip
    return objs


def _is_chain(crow: dict[Any, Any]) -> bool:
    """Whether a clusters-table row is a relay chain (see :func:`attrib.cluster.chain_clusters`)."""
    return str(plain(crow.get("shared_traits")) or "").startswith("relay chain")


def _chain_objects(crow: dict[Any, Any]) -> list[Any]:
    """A relay chain seen relaying: exported whatever its members' scores."""
    path = members(crow.get("members"))
    kw = _seen(crow)
    infra = stix2.Infrastructure(
        name=f"attrib relay chain {crow['cluster']}: {' -> '.join(path)}",
        description=f"Connections relayed {' -> '.join(path)} ({crow.get('shared_traits')})",
        infrastructure_types=["anonymization"], created_by_ref=_IDENTITY.id,
        labels=["attrib", "orb", "relay-chain"], **kw,
    )  # fmt: skip
    objs: list[Any] = [infra]
    for ip in path:
        addr = _addr(ip)
        objs += [addr, stix2.Relationship(infra, "consists-of", addr, created_by_ref=_IDENTITY.id)]
    return objs


def stix_bundle(
    origins: pd.DataFrame,
    clusters: pd.DataFrame,
    threshold: float = DEFAULT_THRESHOLD,
) -> stix2.Bundle:
    """Build the STIX 2.1 bundle of flagged infrastructure.

    Parameters
    ----------
    origins
        The scored origins table (``ip``, ``score``, ``cluster``, ``reasons``, enrichment,
        ``first_seen``/``last_seen``).
    clusters
        The clusters table (:data:`attrib.schema.CLUSTER_COLUMNS`).
    threshold
        Minimum score of a cluster or origin to be exported.

    Returns
    -------
    stix2.Bundle
        Identity, infrastructure, address, indicator and relationship objects.
    """
    objs: list[Any] = [_IDENTITY]
    by_ip = origins.set_index(origins["ip"].astype(str), drop=False)
    in_cluster: set[str] = set()
    for crow in clusters.to_dict("records"):
        if _is_chain(crow):
            objs += _chain_objects(crow)
            continue
        given = plain(crow.get("score"))
        if given is not None and float(given) < threshold:
            continue
        ips = [ip for ip in members(crow.get("members")) if ip in by_ip.index]
        if not ips:
            ips = list(by_ip.index[origins["cluster"].astype("string") == str(crow["cluster"])])
        rows = by_ip.loc[ips]
        score = plain(crow.get("score"))
        if score is None and len(rows):
            score = float(rows["score"].max())
        if score is None or float(score) < threshold or rows.empty:
            continue
        in_cluster.update(ips)
        objs += _cluster_objects(crow, rows, threshold)
    flagged = origins[(origins["score"].astype("Float64") >= threshold).fillna(False)]
    for row in flagged.to_dict("records"):
        if str(row["ip"]) not in in_cluster:
            objs.append(_indicator(row, None))
    unique = list({o.id: o for o in objs}.values())  # an address may be in a chain and a cluster
    return stix2.Bundle(objects=unique, allow_custom=False)


def write_stix(
    origins: pd.DataFrame,
    clusters: pd.DataFrame,
    path: str | os.PathLike[str],
    threshold: float = DEFAULT_THRESHOLD,
) -> Path:
    """Write :func:`stix_bundle` as JSON, atomically.

    Parameters
    ----------
    origins, clusters, threshold
        As for :func:`stix_bundle`.
    path
        Target file (``stix.json``).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    t = Path(path)
    bundle = stix_bundle(origins, clusters, threshold)
    with atomic_path(t) as tmp:
        # stix2's pretty=True sorts properties in a way that takes minutes for a few thousand
        # objects; its compact form re-indented with json keeps the same order in milliseconds
        text = json.dumps(json.loads(bundle.serialize()), indent=2, ensure_ascii=False)
        tmp.write_text(text + "\n", encoding="utf-8")
    return t
