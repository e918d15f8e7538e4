"""Okta System Log events (API JSON array or NDJSON) -> canonical columns.

Field names follow Okta's ``LogEvent`` object: ``published``, ``eventType``, ``uuid``,
``actor.alternateId``, ``outcome.{result,reason}``, ``client.{ipAddress, userAgent.rawUserAgent,
geographicalContext.{city,country,geolocation.{lat,lon}}}``, ``securityContext.{asNumber,
asOrg, isp, isProxy}``, ``request.ipChain[].ip`` and ``target[]``. Keys are matched
case-insensitively (some pipelines lower-case the top level: ``eventtype``,
``securitycontext``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from attrib.io._fields import ci_get, first_of

__all__ = ["OKTA_OUTCOMES", "is_okta_record", "okta_columns"]

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
    }


def _outcome(result: Any) -> str | None:
    if not isinstance(result, str) or not result:
        return None
    return OKTA_OUTCOMES.get(result.upper(), "other")


def _chain_ip(rec: Mapping[str, Any]) -> Any:
    chain = first_of(rec, ("request", "ipChain"))
    if isinstance(chain, list) and chain and isinstance(chain[0], Mapping):
        return ci_get(chain[0], "ip")
    return None


def _app(rec: Mapping[str, Any]) -> Any:
    """Display name of the first ``AppInstance`` target (the application signed in to)."""
    targets = ci_get(rec, "target")
    if not isinstance(targets, list):
        return None
    for t in targets:
        if isinstance(t, Mapping) and ci_get(t, "type") == "AppInstance":
            return ci_get(t, "displayName")
    return None
