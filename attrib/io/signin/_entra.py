"""Microsoft Entra ID sign-in logs in their three export shapes -> canonical columns.

* **Azure Monitor diagnostic export** (storage account / Event Hub): ``time``, ``category``
  (``SignInLogs``, ``NonInteractiveUserSignInLogs``, ``ServicePrincipalSignInLogs``,
  ``ManagedIdentitySignInLogs``), ``operationName`` ``"Sign-in activity"``, ``resultType``,
  ``callerIpAddress`` and the sign-in itself under ``properties`` (camelCase, as in Graph).
* **Log Analytics / Sentinel** ``SigninLogs`` (and ``AADNonInteractiveUserSignInLogs``, ...)
  rows: flat PascalCase columns (``TimeGenerated``, ``CreatedDateTime``, ``UserPrincipalName``,
  ``IPAddress``, ``ResultType``, ``LocationDetails``, ``AutonomousSystemNumber``...), as JSON or
  as the portal's CSV (``TimeGenerated [UTC]``; dynamic columns hold JSON text).
* **Microsoft Graph** ``auditLogs/signIns``: camelCase ``signIn`` resources (``createdDateTime``,
  ``userPrincipalName``, ``ipAddress``, ``status.errorCode``, ``location``, ...).

Keys are matched case-insensitively, so the three shapes share one mapping: the sign-in body is
``properties`` when present, else the record itself.

Token and session fields (for token-abuse evidence): ``uniqueTokenIdentifier``, ``sessionId``,
``correlationId``, ``incomingTokenType``, ``tokenIssuerType``,
``authenticationProcessingDetails`` (key/value list), ``appId``, ``resourceId`` (Sentinel:
``ResourceIdentity``; a Sentinel ``ResourceId`` starting with ``/tenants/`` is the Azure resource
path, not the app signed in to) and whether the sign-in was interactive (``isInteractive`` or
the category / table name). Entra audit events and Microsoft Graph activity logs are read by
:mod:`attrib.io.signin._entra_audit` under the same format name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from attrib.io._fields import ci_get, first_of, pluck, unjson
from attrib.io.signin._common import as_list, truthy

__all__ = [
    "ENTRA_CATEGORIES",
    "INTERRUPT_CODES",
    "entra_columns",
    "entra_outcome",
    "is_entra_record",
    "is_entra_csv_header",
    "signin_kind",
]

#: Azure Monitor diagnostic categories (and Log Analytics table names) of sign-in logs.
ENTRA_CATEGORIES = frozenset(
    s.lower()
    for s in (
        "SignInLogs", "NonInteractiveUserSignInLogs", "ServicePrincipalSignInLogs",
        "ManagedIdentitySignInLogs", "SigninLogs", "AADNonInteractiveUserSignInLogs",
        "AADServicePrincipalSignInLogs", "AADManagedIdentitySignInLogs",
    )
)  # fmt: skip

#: Error codes that interrupt a sign-in for more user interaction rather than refuse it
#: (outcome ``"other"``): the primary credential was accepted or not yet evaluated.
INTERRUPT_CODES = frozenset(
    {
        "16000",  # account selection needed (several signed-in accounts)
        "16001",  # account selection needed
        "16003",  # account not found in the session's tenant for SSO; user picks another
        "50058",  # silent sign-in without a session: the app falls back to interactive
        "50072",  # user must enrol a second factor
        "50074",  # strong authentication (MFA) required
        "50076",  # MFA required (location/condition change or policy)
        "50079",  # user must register for MFA
        "50097",  # device authentication required
        "50125",  # password reset / registration interrupt
        "50129",  # device is not workplace joined: interrupt to join
        "50140",  # "Keep me signed in" interrupt
        "50199",  # CmsiInterrupt: user confirmation required for security reasons
        "65001",  # user or administrator consent required
        "70043",  # session expired by Conditional Access sign-in frequency: re-authenticate
        "70044",  # session expired or invalid (sign-in frequency): re-authenticate
        "81010",  # Seamless SSO: Kerberos ticket expired or invalid, falls back to password
    }
)

_TIME = (("properties", "createdDateTime"), ("createdDateTime",), ("time",), ("TimeGenerated",))
_USER = (("userPrincipalName",), ("servicePrincipalName",))
_APP = (("appDisplayName",), ("servicePrincipalName",))
_IP = (("ipAddress",),)
_CODE = (("status", "errorCode"),)
_LOC = ("location", "LocationDetails")
#: Category / table name (lower case) -> ``signin_kind``.
_KIND = {
    "signinlogs": "interactive",
    "noninteractiveusersigninlogs": "non_interactive",
    "aadnoninteractiveusersigninlogs": "non_interactive",
    "serviceprincipalsigninlogs": "service_principal",
    "aadserviceprincipalsigninlogs": "service_principal",
    "managedidentitysigninlogs": "managed_identity",
    "aadmanagedidentitysigninlogs": "managed_identity",
}


def _properties(rec: Mapping[str, Any]) -> Any:
    """``properties`` as a mapping (some Event Hub pipelines ship it as JSON text)."""
    props = ci_get(rec, "properties")
    return unjson(props) if isinstance(props, str) else props


def _body(rec: Mapping[str, Any]) -> Any:
    props = _properties(rec)
    return props if isinstance(props, Mapping) else rec


def is_entra_record(rec: Mapping[str, Any]) -> bool:
    """Whether ``rec`` is an Entra sign-in in any of the three shapes.

    Parameters
    ----------
    rec
        A JSON record or CSV row.

    Returns
    -------
    bool
        True for Azure Monitor sign-in records, Sentinel rows and Graph ``signIn`` resources.
    """
    if ci_get(rec, "SignInActivityId") is not None or ci_get(rec, "RequestUri") is not None:
        return False  # a Graph activity row (read by _entra_audit), not a sign-in
    props = _properties(rec)
    if isinstance(props, Mapping):
        cat = ci_get(rec, "category")
        op = ci_get(rec, "operationName")
        return (
            isinstance(cat, str) and cat.lower() in ENTRA_CATEGORIES
        ) or op == "Sign-in activity"
    has_time = first_of(rec, ("createdDateTime",), ("TimeGenerated",)) is not None
    has_who = first_of(rec, *_USER, ("appId",)) is not None
    has_sign = any(ci_get(rec, k) is not None for k in ("ipAddress", "status", "resultType"))
    return has_time and has_who and has_sign


def is_entra_csv_header(header: Sequence[str]) -> bool:
    """Whether CSV header cells are those of a Log Analytics sign-in export.

    Parameters
    ----------
    header
        Header cells (suffixes like ``" [UTC]"`` allowed).

    Returns
    -------
    bool
        True when a user/app column and a time column are present.
    """
    names = {h.split("[")[0].strip().lower() for h in header}
    has_time = bool(names & {"timegenerated", "createddatetime"})
    has_who = bool(names & {"userprincipalname", "serviceprincipalname", "appdisplayname"})
    return has_time and has_who and ("operationname" in names or "resulttype" in names
                                     or "ipaddress" in names)  # fmt: skip


def entra_outcome(code: Any) -> str | None:
    """Map an Entra error code to ``success`` (0), ``other`` (interrupts) or ``failure``.

    Parameters
    ----------
    code
        ``status.errorCode`` / ``ResultType`` (int or text); ``None`` when absent.

    Returns
    -------
    str or None
        The outcome, ``None`` when no code is known.
    """
    if code is None or code == "":
        return None
    text = str(int(code)) if isinstance(code, float) and code.is_integer() else str(code).strip()
    if text == "0":
        return "success"
    return "other" if text in INTERRUPT_CODES else "failure"


def entra_columns(records: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Extract raw canonical columns from Entra records (any shape, mixed allowed).

    Parameters
    ----------
    records
        Records accepted by :func:`is_entra_record`.

    Returns
    -------
    dict
        Canonical column -> raw values (typed later by ``events_frame``).
    """
    bodies = [_body(r) for r in records]
    codes = [
        first_of(b, *_CODE) if first_of(b, *_CODE) is not None else first_of(r, ("resultType",))
        for r, b in zip(records, bodies, strict=True)
    ]
    return {
        "ts": [first_of(r, *_TIME) for r in records],
        "src_ip": [
            first_of(b, *_IP) or first_of(r, ("callerIpAddress",))
            for r, b in zip(records, bodies, strict=True)
        ],  # fmt: skip
        "user": [first_of(b, *_USER) for b in bodies],
        "app": [first_of(b, *_APP) for b in bodies],
        "event_type": [_event_type(r) for r in records],
        "user_agent": [first_of(b, ("userAgent",)) for b in bodies],
        "service": [first_of(b, ("clientAppUsed",)) for b in bodies],
        "outcome": [entra_outcome(c) for c in codes],
        "error_code": codes,
        "uid": [first_of(b, ("id",)) for b in bodies],
        "prov_asn": [first_of(b, ("autonomousSystemNumber",)) for b in bodies],
        "prov_city": [_loc(b, ("city",)) for b in bodies],
        "prov_country": [_loc(b, ("countryOrRegion",)) for b in bodies],
        "prov_lat": [_loc(b, ("geoCoordinates", "latitude")) for b in bodies],
        "prov_lon": [_loc(b, ("geoCoordinates", "longitude")) for b in bodies],
        "app_id": [first_of(b, ("appId",)) for b in bodies],
        "session_id": [first_of(b, ("sessionId",)) for b in bodies],
        "correlation_id": [first_of(b, ("correlationId",)) for b in bodies],
        "token_id": [first_of(b, ("uniqueTokenIdentifier",)) for b in bodies],
        "token_type": [first_of(b, ("incomingTokenType",)) for b in bodies],
        "token_issuer": [first_of(b, ("tokenIssuerType",)) for b in bodies],
        "auth_details": [
            _pairs(ci_get(b, "authenticationProcessingDetails")) for b in bodies
        ],  # fmt: skip
        "resource_id": [_resource(b) for b in bodies],
        "signin_kind": [signin_kind(r, b) for r, b in zip(records, bodies, strict=True)],
    }


def signin_kind(rec: Mapping[str, Any], body: Any) -> str | None:
    """``interactive``, ``non_interactive``, ``service_principal`` or ``managed_identity``.

    Parameters
    ----------
    rec
        The record (its ``category`` / ``Type`` names the log).
    body
        The sign-in body (``isInteractive``).

    Returns
    -------
    str or None
        The kind, ``None`` when nothing says.
    """
    cat = first_of(rec, ("category",), ("Type",))
    if isinstance(cat, str) and cat.lower() in _KIND:
        return _KIND[cat.lower()]
    inter = truthy(ci_get(body, "isInteractive"))
    if inter is None:
        return None
    return "interactive" if inter else "non_interactive"


def _resource(body: Any) -> Any:
    v = first_of(body, ("resourceIdentity",), ("resourceId",))
    if isinstance(v, str) and v.startswith("/"):  # Sentinel: the Azure resource path
        return first_of(body, ("resourceIdentity",))
    return v


def _pairs(items: Any) -> str | None:
    """``authenticationProcessingDetails`` (``[{key, value}]``) as ``key=value; ...`` text."""
    out = []
    for p in as_list(items) or ():
        k, v = ci_get(p, "key"), ci_get(p, "value")
        if isinstance(k, str) and k:
            out.append(f"{k}={'' if v is None else v}")
    return "; ".join(out) if out else None


def _loc(body: Any, path: tuple[str, ...]) -> Any:
    for key in _LOC:
        v = pluck(body, (key, *path))
        if v is not None and v != "":
            return v
    return None


def _event_type(rec: Mapping[str, Any]) -> Any:
    v = first_of(rec, ("category",), ("Type",))
    if v is not None:
        return v
    kinds = first_of(rec, ("signInEventTypes",))
    if isinstance(kinds, list) and kinds:
        return ",".join(str(k) for k in kinds)
    return None
