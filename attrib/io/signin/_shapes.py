"""Which identity or audit log shape a file *resembles*, and what it lacks to be read as one.

A Sentinel export with a renamed or dropped column would otherwise fall through to the generic
flow reader, whose error ("a generic flow table needs a mapping") sends the user the wrong way.
Each shape lists marker fields (distinctive names; three or more, or the table name in
``Type``/``category``, make a resemblance) and the fields a reader needs (one of each group).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["SHAPES", "Shape", "resemblance"]


@dataclass(frozen=True)
class Shape:
    """A recognisable export shape."""

    name: str
    fmt: str
    markers: frozenset[str]
    required: tuple[tuple[str, ...], ...]
    tables: frozenset[str] = frozenset()


def _s(*names: str) -> frozenset[str]:
    return frozenset(n.lower() for n in names)


SHAPES: tuple[Shape, ...] = (
    Shape(
        "a Sentinel OfficeActivity row", "m365",
        _s("OfficeWorkload", "OfficeId", "Client_IPAddress", "MailboxOwnerUPN", "ClientInfoString",
           "OrganizationId", "UserKey", "RecordType", "OfficeTenantId", "Logon_Type"),
        (("TimeGenerated", "CreationTime"), ("Operation",), ("OfficeWorkload", "RecordType")),
        _s("OfficeActivity"),
    ),
    Shape(
        "a Microsoft 365 audit record", "m365",
        _s("CreationTime", "RecordType", "Workload", "OrganizationId", "UserKey", "UserType",
           "ResultStatus", "ClientIP", "ObjectId"),
        (("CreationTime",), ("Operation",), ("RecordType", "Workload")),
    ),
    Shape(
        "an Entra ID sign-in", "entra",
        _s("UserPrincipalName", "IPAddress", "ResultType", "CreatedDateTime", "AppDisplayName",
           "ConditionalAccessStatus", "LocationDetails", "UniqueTokenIdentifier", "ClientAppUsed",
           "AuthenticationDetails", "IsInteractive", "ResourceDisplayName"),
        (("TimeGenerated", "CreatedDateTime", "time"), ("IPAddress", "callerIpAddress"),
         ("UserPrincipalName", "ServicePrincipalName", "AppDisplayName", "AppId")),
        _s("SigninLogs", "AADNonInteractiveUserSignInLogs", "AADServicePrincipalSignInLogs",
           "AADManagedIdentitySignInLogs", "SignInLogs", "NonInteractiveUserSignInLogs"),
    ),
    Shape(
        "an Entra ID audit event", "entra",
        _s("ActivityDisplayName", "ActivityDateTime", "InitiatedBy", "TargetResources",
           "LoggedByService", "AdditionalDetails", "AADOperationType", "OperationType"),
        (("ActivityDateTime", "TimeGenerated"), ("ActivityDisplayName", "OperationName"),
         ("InitiatedBy",)),
        _s("AuditLogs"),
    ),
    Shape(
        "a Microsoft Graph activity log record", "entra",
        _s("SignInActivityId", "RequestUri", "RequestMethod", "ResponseStatusCode",
           "TokenIssuedAt", "ServicePrincipalId", "ClientAuthMethod", "ApiVersion"),
        (("TimeGenerated", "time"), ("AppId",), ("RequestUri", "SignInActivityId")),
        _s("MicrosoftGraphActivityLogs"),
    ),
    Shape(
        "a Sentinel Okta_CL row", "okta",
        _s("eventType_s", "published_t", "actor_alternateId_s", "client_ipAddress_s",
           "outcome_result_s", "displayMessage_s", "uuid_g", "actor_displayName_s"),
        (("published_t", "TimeGenerated"), ("eventType_s",)),
        _s("Okta_CL", "OktaV2_CL"),
    ),
    Shape(
        "an Okta System Log event", "okta",
        _s("eventType", "published", "displayMessage", "actor", "securityContext",
           "authenticationContext", "debugContext", "legacyEventType", "uuid"),
        (("published",), ("eventType",)),
    ),
)  # fmt: skip
_MIN_MARKERS = 3


def _keys(rec: Mapping[str, Any]) -> tuple[set[str], str]:
    keys = {k.lower() for k in rec if isinstance(k, str)}
    props = rec.get("properties")
    if isinstance(props, Mapping):
        keys |= {k.lower() for k in props if isinstance(k, str)}
    table = ""
    for k, v in rec.items():
        if isinstance(k, str) and k.lower() in ("type", "category") and isinstance(v, str):
            table = v.lower()
    return keys, table


def _match(keys: set[str], table: str) -> tuple[Shape, list[str]] | None:
    best: tuple[int, Shape] | None = None
    for shape in SHAPES:
        score = len(keys & shape.markers) + (100 if table and table in shape.tables else 0)
        if score >= _MIN_MARKERS and (best is None or score > best[0]):
            best = (score, shape)
    if best is None:
        return None
    shape = best[1]
    missing = [
        " or ".join(repr(g) for g in group)
        for group in shape.required
        if not any(g.lower() in keys for g in group)
    ]
    return shape, missing


def resemblance(
    records: Sequence[Mapping[str, Any]] | None = None, header: Iterable[str] | None = None
) -> tuple[str, str, list[str]] | None:
    """The identity/audit shape that records or a CSV header resemble, and what they lack.

    Parameters
    ----------
    records
        The first JSON records of a file.
    header
        Or the header cells of a CSV file (``" [UTC]"`` suffixes allowed).

    Returns
    -------
    tuple or None
        ``(shape description, format name, missing field groups)`` for the shape most of the
        records resemble, or ``None``.
    """
    if header is not None:
        names = {h.split("[")[0].strip().lower() for h in header}
        hit = _match(names, "")
        return (hit[0].name, hit[0].fmt, hit[1]) if hit else None
    if not records:
        return None
    votes: Counter[tuple[str, str, tuple[str, ...]]] = Counter()
    for rec in records:
        if isinstance(rec, Mapping):
            hit = _match(*_keys(rec))
            if hit is not None:
                votes[(hit[0].name, hit[0].fmt, tuple(hit[1]))] += 1
    if not votes:
        return None
    (name, fmt, missing), n = votes.most_common(1)[0]
    return (name, fmt, list(missing)) if n * 2 > len(records) else None
