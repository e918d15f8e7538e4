"""Entra ID audit events and Microsoft Graph activity logs -> canonical columns.

**Audit events** (Graph ``directoryAudit``, the Azure Monitor export with category
``AuditLogs``, and Sentinel ``AuditLogs`` rows): ``activityDateTime`` / ``TimeGenerated``,
``activityDisplayName`` / ``OperationName``, ``result``, ``resultReason``, ``correlationId``,
``id``, ``loggedByService`` and ``initiatedBy.user.{userPrincipalName, ipAddress}`` or
``initiatedBy.app.{appId, displayName}``; Sentinel holds ``InitiatedBy`` as a dynamic column
(JSON text in CSV), the Azure Monitor export nests the event under ``properties`` and also gives
``callerIpAddress``.

**Graph activity** (Sentinel ``MicrosoftGraphActivityLogs`` rows and the Azure Monitor export,
category ``MicrosoftGraphActivityLogs``, camelCase under ``properties``): ``TimeGenerated``,
``AppId``, ``IPAddress``, ``UserId``, ``ServicePrincipalId``, ``RequestId``, ``RequestMethod``,
``RequestUri``, ``ResponseStatusCode``, ``SignInActivityId`` (the ``uniqueTokenIdentifier`` of
the sign-in that issued the token), ``UserAgent``. A request is not a sign-in, so its outcome is
left null; a request for mail (``/messages``, ``/mailFolders``) is marked ``access_type``
``"GraphMail"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from attrib.io._fields import ci_get, first_of, unjson

__all__ = [
    "AUDIT_CATEGORY",
    "GRAPH_CATEGORY",
    "audit_columns",
    "graph_columns",
    "is_audit_record",
    "is_graph_record",
]

AUDIT_CATEGORY = "auditlogs"
GRAPH_CATEGORY = "microsoftgraphactivitylogs"
_MAIL_URI = re.compile(r"/(messages|mailfolders)(\b|/|\?|$)", re.IGNORECASE)
_RESULT = {"success": "success", "failure": "failure", "timeout": "failure"}


def _body(rec: Mapping[str, Any]) -> Any:
    props = ci_get(rec, "properties")
    if isinstance(props, str):
        props = unjson(props)
    return props if isinstance(props, Mapping) else rec


def _category(rec: Mapping[str, Any]) -> str:
    cat = first_of(rec, ("category",), ("Type",))
    return cat.lower() if isinstance(cat, str) else ""


def is_audit_record(rec: Mapping[str, Any]) -> bool:
    """Whether ``rec`` is an Entra audit event in one of its three shapes.

    Parameters
    ----------
    rec
        A JSON record or CSV row.

    Returns
    -------
    bool
        True for ``directoryAudit`` resources, Azure Monitor ``AuditLogs`` records and
        Sentinel ``AuditLogs`` rows.
    """
    b = _body(rec)
    if _category(rec) == AUDIT_CATEGORY and b is not rec:
        return True
    has_time = first_of(b, ("activityDateTime",), ("TimeGenerated",)) is not None
    has_what = first_of(b, ("activityDisplayName",), ("OperationName",)) is not None
    return has_time and has_what and ci_get(b, "initiatedBy") is not None


def is_graph_record(rec: Mapping[str, Any]) -> bool:
    """Whether ``rec`` is a Microsoft Graph activity log record.

    Parameters
    ----------
    rec
        A JSON record or CSV row.

    Returns
    -------
    bool
        True for ``MicrosoftGraphActivityLogs`` rows and Azure Monitor records.
    """
    if _category(rec) == GRAPH_CATEGORY:
        return True
    b = _body(rec)
    has_time = first_of(rec, ("TimeGenerated",), ("time",)) is not None
    has_req = ci_get(b, "RequestUri") is not None or ci_get(b, "SignInActivityId") is not None
    return has_time and has_req and ci_get(b, "AppId") is not None


def _initiator(body: Any, *path: str) -> Any:
    who = ci_get(body, "initiatedBy")
    if isinstance(who, str):
        who = unjson(who)
    for part in ("user", "app"):
        v = first_of(ci_get(who, part), path)
        if v is not None:
            return v
    return None


def audit_columns(records: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Extract raw canonical columns from audit events.

    Parameters
    ----------
    records
        Records accepted by :func:`is_audit_record`.

    Returns
    -------
    dict
        Canonical column -> raw values.
    """
    bodies = [_body(r) for r in records]
    results = [first_of(b, ("result",), ("Result",)) for b in bodies]
    return {
        "ts": [
            first_of(b, ("activityDateTime",)) or first_of(r, ("time",), ("TimeGenerated",))
            for r, b in zip(records, bodies, strict=True)
        ],
        "src_ip": [
            _initiator(b, "ipAddress") or first_of(r, ("callerIpAddress",))
            for r, b in zip(records, bodies, strict=True)
        ],
        "user": [
            _initiator(b, "userPrincipalName") or _initiator(b, "displayName") for b in bodies
        ],
        "app": [_initiator(b, "displayName") for b in bodies],
        "app_id": [_initiator(b, "appId") for b in bodies],
        "event_type": [first_of(b, ("activityDisplayName",), ("OperationName",)) for b in bodies],
        "service": [first_of(b, ("loggedByService",)) for b in bodies],
        "outcome": [
            _RESULT.get(str(v).lower(), "other") if v not in (None, "") else None for v in results
        ],
        "error_code": [first_of(b, ("resultReason",)) for b in bodies],
        "uid": [first_of(b, ("id",)) for b in bodies],
        "correlation_id": [
            first_of(b, ("correlationId",)) or first_of(r, ("correlationId",))
            for r, b in zip(records, bodies, strict=True)
        ],
    }


def _token(v: Any) -> Any:
    """``SignInActivityId`` without base64 padding, as ``uniqueTokenIdentifier`` is written."""
    return v.rstrip("=") if isinstance(v, str) else v


def graph_columns(records: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Extract raw canonical columns from Graph activity records.

    Parameters
    ----------
    records
        Records accepted by :func:`is_graph_record`.

    Returns
    -------
    dict
        Canonical column -> raw values.
    """
    bodies = [_body(r) for r in records]
    uris = [first_of(b, ("RequestUri",)) for b in bodies]
    return {
        "ts": [first_of(r, ("TimeGenerated",), ("time",)) for r in records],
        "src_ip": [
            first_of(b, ("IPAddress",)) or first_of(r, ("callerIpAddress",))
            for r, b in zip(records, bodies, strict=True)
        ],
        "user": [first_of(b, ("UserId",), ("ServicePrincipalId",)) for b in bodies],
        "app_id": [first_of(b, ("AppId",)) for b in bodies],
        "app": [first_of(b, ("AppId",)) for b in bodies],
        "event_type": ["MicrosoftGraphActivityLogs"] * len(records),
        "service": [first_of(b, ("RequestMethod",)) for b in bodies],
        "user_agent": [first_of(b, ("UserAgent",)) for b in bodies],
        "error_code": [first_of(b, ("ResponseStatusCode",)) for b in bodies],
        "uid": [first_of(b, ("RequestId",)) for b in bodies],
        "token_id": [_token(first_of(b, ("SignInActivityId",))) for b in bodies],
        "session_id": [first_of(b, ("SessionId",)) for b in bodies],
        "access_type": [
            "GraphMail" if isinstance(u, str) and _MAIL_URI.search(u) else None for u in uris
        ],
    }
