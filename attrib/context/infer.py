"""Infer the organisation's context from the data when no ``--config`` is given.

What a defender would write in ``org.toml`` can mostly be read off the logs themselves:

* **home countries** — where most *successful* sign-ins come from (the countries that together
  carry ``home_share`` of them, at most three);
* **public services** — the destination addresses that the most distinct outside sources
  contact (the organisation's VPN, mail, SSH bastion), while they stand out from the rest;
* **offices** — addresses from which many distinct accounts sign in successfully (NAT egress of
  an office);
* **accounts** — the number of distinct accounts seen.

Every inferred field is listed in :attr:`attrib.context.OrgContext.inferred`, so reports can say
which parts of the context were guessed. Fields given in a config are never overridden.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import replace

import pandas as pd

from attrib.context.org import OrgContext

__all__ = ["complete_context", "infer_context"]

logger = logging.getLogger(__name__)

_MAX_SERVICES = 16
_SHARED_EGRESS = r"cgnat|private_relay|vpn|tor_exit"
_MAX_HOME = 3


def _identity(events: pd.DataFrame) -> pd.DataFrame:
    """Sign-in / audit events: a client address and no destination address."""
    if events.empty:
        return events
    return events[events["dst_ip"].isna() & events["src_ip"].notna()]


def infer_home_countries(
    events: pd.DataFrame, enrichment: pd.DataFrame, home_share: float = 0.8
) -> tuple[str, ...]:
    """Countries of the successful sign-ins (or, without sign-ins, of all origins).

    Parameters
    ----------
    events
        The events table.
    enrichment
        ``ip`` + ``country`` for (at least) the source addresses.
    home_share
        Take countries in order of sign-ins until they cover this share.

    Returns
    -------
    tuple of str
        ISO country codes, most frequent first (empty when nothing is known).
    """
    ident = _identity(events)
    ok = ident[ident["outcome"] == "success"] if "outcome" in ident.columns else ident
    rows = ok if len(ok) else ident
    if rows.empty or enrichment.empty:
        return ()
    lut = enrichment.dropna(subset=["ip"]).drop_duplicates("ip").set_index("ip")["country"]
    countries = rows["src_ip"].astype("string").map(lut)
    known = countries.notna().to_numpy(dtype=bool)
    if not known.any():
        return ()
    share = _shares(countries[known], rows["n"][known] if "n" in rows.columns else None)
    out: list[str] = []
    acc = 0.0
    for country, s in share.items():
        out.append(str(country))
        acc += float(s)
        if acc >= home_share or len(out) >= _MAX_HOME:
            break
    return tuple(out)


def _shares(values: pd.Series, n: pd.Series | None) -> pd.Series:
    """``values.value_counts(normalize=True)``, each row counting ``n`` times when given.

    Counted rows (distinct keys with ``n``, see :class:`attrib.pipeline._tally.InferenceTally`)
    give exactly the shares, and the order, of the rows they stand for: totals in order of
    first appearance, then the same descending sort as ``value_counts``.
    """
    if n is None:
        return values.value_counts(normalize=True)
    w = pd.Series(n.to_numpy(dtype="int64"), index=values.to_numpy())
    counts = w.groupby(level=0, sort=False).sum().sort_values(ascending=False)
    return counts / counts.sum()


def infer_services(events: pd.DataFrame, min_share: float = 0.01) -> tuple[str, ...]:
    """The most-contacted destination addresses of connections.

    Parameters
    ----------
    events
        The events table.
    min_share
        A destination must see at least this share of all distinct (source, destination) pairs.

    Returns
    -------
    tuple of str
        Addresses, most contacted first (at most 16).
    """
    conns = events[events["dst_ip"].notna() & events["src_ip"].notna()]
    if conns.empty:
        return ()
    pairs = conns[["src_ip", "dst_ip"]].drop_duplicates()
    # inbound only: a public source towards a unicast destination
    pairs = pairs[_is_global(pairs["src_ip"]) & ~_is_multicast(pairs["dst_ip"])]
    if pairs.empty:
        return ()
    per_dst = pairs["dst_ip"].value_counts()
    share = per_dst / per_dst.sum()
    top = share[share >= min_share].head(_MAX_SERVICES)
    return tuple(str(ip) for ip in top.index)


def _addr_flag(ips: pd.Series, attr: str) -> pd.Series:
    """An ``ipaddress`` property per address, computed once per unique value."""
    lut = {}
    for u in pd.unique(ips.dropna()):
        try:
            lut[u] = bool(getattr(ipaddress.ip_address(str(u)), attr))
        except ValueError:
            lut[u] = False
    return ips.map(lut).fillna(False).astype(bool)


def _is_global(ips: pd.Series) -> pd.Series:
    return _addr_flag(ips, "is_global")


def _is_multicast(ips: pd.Series) -> pd.Series:
    return _addr_flag(ips, "is_multicast")


def infer_offices(
    events: pd.DataFrame, enrichment: pd.DataFrame | None = None, min_accounts: int = 5
) -> tuple[str, ...]:
    """Addresses where many distinct accounts sign in successfully (an office's NAT egress).

    Mobile carriers' CGNAT and shared egress (Private Relay, VPNs, Tor) also put many accounts
    behind one address; with ``enrichment``, addresses of mobile networks or with such tags
    are not offices.

    Parameters
    ----------
    events
        The events table.
    enrichment
        ``ip``, ``net_type`` and ``tags`` of the source addresses, when known.
    min_accounts
        Distinct accounts needed, and at least 5 % of all accounts seen.

    Returns
    -------
    tuple of str
        Addresses.
    """
    ident = _identity(events)
    if ident.empty or "user" not in ident.columns:
        return ()
    ok = ident[(ident["outcome"] == "success") & ident["user"].notna()]
    if ok.empty:
        return ()
    n_users = ok["user"].nunique()
    per_ip = ok.groupby("src_ip", observed=True)["user"].nunique()
    need = max(min_accounts, int(0.05 * n_users) + 1)
    hits = per_ip[per_ip >= need].sort_values(ascending=False)
    if enrichment is not None and len(hits) and "ip" in enrichment.columns:
        e = enrichment.dropna(subset=["ip"]).drop_duplicates("ip").set_index("ip")
        e = e.reindex(hits.index.astype(str))
        nt = e["net_type"].astype("string") if "net_type" in e.columns else None
        tags = e["tags"].astype("string").fillna("") if "tags" in e.columns else None
        shared = pd.Series(False, index=e.index)
        if nt is not None:
            shared |= (nt == "mobile").fillna(False)
        if tags is not None:
            shared |= tags.str.contains(_SHARED_EGRESS, regex=True)
        hits = hits[~shared.to_numpy(dtype=bool)]
    return tuple(str(ip) for ip in hits.index)


def infer_context(
    events: pd.DataFrame, enrichment: pd.DataFrame, name: str = "organisation"
) -> OrgContext:
    """Infer a whole :class:`~attrib.context.OrgContext` from the data.

    Parameters
    ----------
    events
        The events table.
    enrichment
        ``ip`` and ``country`` of the source addresses.
    name
        Display name.

    Returns
    -------
    OrgContext
        With ``inferred`` naming every field read off the data.
    """
    return complete_context(OrgContext(name=name), events, enrichment)


def complete_context(ctx: OrgContext, events: pd.DataFrame, enrichment: pd.DataFrame) -> OrgContext:
    """Fill the fields a config left empty from the data.

    Parameters
    ----------
    ctx
        The configured (possibly default) context.
    events
        The events table.
    enrichment
        ``ip`` and ``country`` of the source addresses.

    Returns
    -------
    OrgContext
        A new context; ``inferred`` lists what was filled in.
    """
    inferred = list(ctx.inferred)
    changes: dict[str, object] = {}
    if not ctx.home_countries:
        home = infer_home_countries(events, enrichment)
        if home:
            changes["home_countries"] = home
            inferred.append("home_countries")
    if not ctx.services:
        svc = infer_services(events)
        if svc:
            changes["services"] = tuple(ipaddress.ip_network(s) for s in svc)
            inferred.append("services")
    if not ctx.offices:
        off = infer_offices(events, enrichment)
        if off:
            changes["offices"] = tuple(ipaddress.ip_network(s) for s in off)
            inferred.append("offices")
    if ctx.accounts is None and "user" in events.columns:
        n = int(events["user"].nunique())
        if n:
            changes["accounts"] = n
            inferred.append("accounts")
    if not changes:
        return ctx
    logger.info("context inferred from the data: %s", ", ".join(inferred))
    return replace(ctx, **changes, inferred=tuple(dict.fromkeys(inferred)))  # type: ignore[arg-type]
