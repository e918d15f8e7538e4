"""Okta System Log events (API JSON array or NDJSON) -> canonical columns.

Field names follow Okta's ``LogEvent`` object: ``published``, ``eventType``, ``uuid``,
``actor.alternateId``, ``outcome.{result,reason}``, ``client.{ipAddress, userAgent.rawUserAgent,
geographicalContext.{city,country,geolocation.{lat,lon}}}``, ``securityContext.{asNumber,
asOrg, isp, isProxy}``, ``request.ipChain[].ip``, ``target[]`` and
``authenticationContext.externalSessionId`` (the session a token belongs to). Keys are matched
case-insensitively (some pipelines lower-case the top level: ``eventtype``,
``securitycontext``).

Microsoft Sentinel's Okta connector (table ``Okta_CL``, also ``OktaV2_CL``) flattens the event
into typed columns: the path joined with ``_`` plus a type suffix (``_s`` text, ``_t`` time,
``_d`` number, ``_b`` boolean, ``_g`` GUID): ``published_t``, ``eventType_s``, ``uuid_g``,
``actor_alternateId_s``, ``client_ipAddress_s``, ``client_userAgent_rawUserAgent_s``,
``client_geographicalContext_geolocation_lat_d``, ``outcome_result_s``,
``securityContext_asNumber_d``, ``authenticationContext_externalSessionId_s``; arrays
(``target_s``, ``request_ipChain_s``) are JSON text. Such rows are unflattened into the
``LogEvent`` shape first (Okta's field names hold no ``_``), so one mapping reads both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from attrib.io._fields import ci_get, first_of
from attrib.io.signin._common import as_list

__all__ = ["OKTA_OUTCOMES", "is_okta_csv_header", "is_okta_record", "okta_columns", "unflatten"]

#: ``outcome.result`` -> canonical outcome. SKIPPED, CHALLENGE and UNKNOWN decide nothing.
OKTA_OUTCOMES = {
    "SUCCESS": "success",
    "ALLOW": "success",
    "FAILURE": "failure",
    "DENY": "failure",
    "SKIPPED": "other",
    "CHALLENGE": "other",
    "UNKNOWN": "other",
}
_SUFFIXES = ("_s", "_t", "_d", "_b", "_g", "_l")


def unflatten(rec: dict[str, Any]) -> dict[str, Any]:
    """Turn a Sentinel ``Okta_CL`` row into the nested ``LogEvent`` shape (others as they are).

    Parameters
    ----------
    rec
        A record; a row is recognised by its ``eventType_s`` column.

    Returns
    -------
    dict
        The nested event (``published_t`` -> ``published``, ``client_ipAddress_s`` ->
        ``client.ipAddress``); ``TimeGenerated`` stands in for a missing ``published``.
    """
    if ci_get(rec, "eventType_s") is None:
        return rec
    out: dict[str, Any] = {}
    for key, value in rec.items():
        if value is None or value == "" or not isinstance(key, str):
            continue
        name = key
        for suf in _SUFFIXES:
            if key.endswith(suf):
                name = key[: -len(suf)]
                break
        parts = [p for p in name.split("_") if p]
        if not parts:
            continue
        cur = out
        for p in parts[:-1]:
            nxt = cur.setdefault(p, {})
            if not isinstance(nxt, dict):
                break
            cur = nxt
        else:
            leaf = as_list(value) if parts[-1] in ("target", "ipChain") else None
            cur.setdefault(parts[-1], leaf if leaf is not None else value)
    if "published" not in out and ci_get(rec, "TimeGenerated") is not None:
        out["published"] = ci_get(rec, "TimeGenerated")
    return out


def is_okta_csv_header(header: list[str]) -> bool:
    """Whether CSV header cells are those of a Sentinel ``Okta_CL`` export.

    Parameters
    ----------
    header
        Header cells.

    Returns
    -------
    bool
        True when ``eventType_s`` and a time column are present.
    """
    names = {h.split("[")[0].strip().lower() for h in header}
    return "eventtype_s" in names and bool(names & {"published_t", "timegenerated"})


def is_okta_record(rec: Mapping[str, Any]) -> bool:
    """Whether ``rec`` is an Okta System Log event (``published`` and ``eventType``).

    Parameters
    ----------
    rec
        A JSON record.

    Returns
    -------
    bool
        True for Okta ``LogEvent`` objects.
    """
    if ci_get(rec, "eventType_s") is not None:  # Sentinel Okta_CL row
        has_time = (
            ci_get(rec, "published_t") is not None or ci_get(rec, "TimeGenerated") is not None
        )
        return has_time and isinstance(ci_get(rec, "eventType_s"), str)
    return ci_get(rec, "published") is not None and isinstance(ci_get(rec, "eventType"), str)


def okta_columns(records: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Extract raw canonical columns from Okta events.

    Parameters
    ----------
    records
        Records accepted by :func:`is_okta_record`.

    Returns
    -------
    dict
        Canonical column -> raw values.
    """
    geo = ("client", "geographicalContext")
    records = [unflatten(r) if isinstance(r, dict) else r for r in records]
    return {
        "ts": [ci_get(r, "published") for r in records],
        "src_ip": [first_of(r, ("client", "ipAddress")) or _chain_ip(r) for r in records],
        "user": [first_of(r, ("actor", "alternateId")) for r in records],
        "app": [_app(r) for r in records],
        "event_type": [ci_get(r, "eventType") for r in records],
        "user_agent": [first_of(r, ("client", "userAgent", "rawUserAgent")) for r in records],
        "outcome": [_outcome(first_of(r, ("outcome", "result"))) for r in records],
        "error_code": [first_of(r, ("outcome", "reason")) for r in records],
        "uid": [ci_get(r, "uuid") for r in records],
        "prov_asn": [first_of(r, ("securityContext", "asNumber")) for r in records],
        "prov_as_org": [
            first_of(r, ("securityContext", "asOrg"), ("securityContext", "isp")) for r in records
        ],  # fmt: skip
        "prov_city": [first_of(r, (*geo, "city")) for r in records],
        "prov_country": [first_of(r, (*geo, "country")) for r in records],
        "prov_lat": [first_of(r, (*geo, "geolocation", "lat")) for r in records],
        "prov_lon": [first_of(r, (*geo, "geolocation", "lon")) for r in records],
        "session_id": [_session(r) for r in records],
    }


def _session(rec: Mapping[str, Any]) -> Any:
    """``externalSessionId``; Okta writes ``"unknown"`` when there is none."""
    v = first_of(rec, ("authenticationContext", "externalSessionId"))
    return None if isinstance(v, str) and v.lower() == "unknown" else v


def _outcome(result: Any) -> str | None:
    if not isinstance(result, str) or not result:
        return None
    return OKTA_OUTCOMES.get(result.upper(), "other")


def _chain_ip(rec: Mapping[str, Any]) -> Any:
    chain = as_list(first_of(rec, ("request", "ipChain")))
    if chain and isinstance(chain[0], Mapping):
        return ci_get(chain[0], "ip")
    return None


def _app(rec: Mapping[str, Any]) -> Any:
    """Display name of the first ``AppInstance`` target (the application signed in to)."""
    for t in as_list(ci_get(rec, "target")) or ():
        if isinstance(t, Mapping) and ci_get(t, "type") == "AppInstance":
            return ci_get(t, "displayName")
    return None
