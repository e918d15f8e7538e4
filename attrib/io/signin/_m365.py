"""Microsoft 365 Unified Audit Log records (JSON, or the ``AuditData`` column of CSV exports).

Common schema fields: ``CreationTime`` (UTC, no offset), ``Id``, ``Operation``, ``RecordType``,
``Workload``, ``UserId``, ``ResultStatus``, ``ClientIP``; Azure AD sign-in records add
``LogonError``, ``ActorIpAddress``, ``ApplicationId`` and ``ExtendedProperties`` (name/value
pairs holding ``UserAgent``); Exchange mailbox records (``MailItemsAccessed``...) carry the
client as ``ClientIPAddress``; SharePoint records carry ``UserAgent`` at the top level.

``ClientIP`` appears as ``1.2.3.4``, ``1.2.3.4:56789``, ``[2001:db8::1]:443``,
``2001:db8::1`` or ``::ffff:1.2.3.4``; all are normalised to the plain address, and a port,
when given, goes to ``src_port``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from attrib.io._fields import ci_get, first_of

__all__ = ["is_m365_csv_header", "is_m365_record", "m365_columns", "m365_outcome"]

_OPERATION_OUTCOME = {"userloggedin": "success", "userloginfailed": "failure"}
_STATUS_OUTCOME = {
    "succeeded": "success",
    "success": "success",
    "true": "success",
    "failed": "failure",
    "failure": "failure",
    "false": "failure",
}
_CSV_SIGNATURES = (
    frozenset({"auditdata"}),
    frozenset({"creationdate", "userids", "operations"}),
    frozenset({"creationdate", "userid", "operation"}),
)


def is_m365_record(rec: Mapping[str, Any]) -> bool:
    """Whether ``rec`` is a Unified Audit Log record.

    It must have ``CreationTime``, ``Operation`` and ``RecordType`` or ``Workload``.

    Parameters
    ----------
    rec
        A JSON record.

    Returns
    -------
    bool
        True for audit records.
    """
    return (
        ci_get(rec, "CreationTime") is not None
        and isinstance(ci_get(rec, "Operation"), str)
        and (ci_get(rec, "RecordType") is not None or ci_get(rec, "Workload") is not None)
    )


def is_m365_csv_header(header: Sequence[str]) -> bool:
    """Whether CSV header cells are those of a Purview / ``Search-UnifiedAuditLog`` export.

    Parameters
    ----------
    header
        Header cells.

    Returns
    -------
    bool
        True when an ``AuditData`` column, or the export's identifying columns, are present.
    """
    names = {h.strip().lower() for h in header}
    return any(sig <= names for sig in _CSV_SIGNATURES)


def m365_outcome(operation: Any, status: Any) -> str | None:
    """Outcome from the operation (``UserLoggedIn``/``UserLoginFailed``), else ``ResultStatus``.

    The operation wins: Azure AD ``UserLoginFailed`` records often say ``ResultStatus:
    Success`` (the audit write succeeded). Other non-empty statuses (``PartiallySucceeded``...)
    give ``"other"``; no status gives ``None``.

    Parameters
    ----------
    operation
        ``Operation``.
    status
        ``ResultStatus``.

    Returns
    -------
    str or None
        ``success``, ``failure``, ``other`` or ``None``.
    """
    if isinstance(operation, str) and operation.lower() in _OPERATION_OUTCOME:
        return _OPERATION_OUTCOME[operation.lower()]
    if not isinstance(status, str | bool) or status == "":
        return None
    return _STATUS_OUTCOME.get(str(status).strip().lower(), "other")


def m365_columns(records: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Extract raw canonical columns from audit records.

    Parameters
    ----------
    records
        Records accepted by :func:`is_m365_record`.

    Returns
    -------
    dict
        Canonical column -> raw values.
    """
    ops = [ci_get(r, "Operation") for r in records]
    return {
        "ts": [ci_get(r, "CreationTime") for r in records],
        "src_ip": [
            first_of(r, ("ClientIP",), ("ClientIPAddress",), ("ActorIpAddress",)) for r in records
        ],
        "user": [ci_get(r, "UserId") for r in records],
        "app": [first_of(r, ("ApplicationId",), ("AppId",), ("ClientAppId",)) for r in records],
        "service": [ci_get(r, "Workload") for r in records],
        "event_type": ops,
        "user_agent": [_extended(r, "UserAgent") or first_of(r, ("UserAgent",)) for r in records],
        "outcome": [
            m365_outcome(o, ci_get(r, "ResultStatus")) for o, r in zip(ops, records, strict=True)
        ],
        "error_code": [
            first_of(r, ("LogonError",), ("ErrorNumber",)) or _extended(r, "ErrorNumber")
            for r in records
        ],  # fmt: skip
        "uid": [ci_get(r, "Id") for r in records],
    }


def _extended(rec: Mapping[str, Any], name: str) -> Any:
    """Value of ``name`` in ``ExtendedProperties`` (a list of ``{"Name", "Value"}`` pairs)."""
    props = ci_get(rec, "ExtendedProperties")
    if not isinstance(props, list):
        return None
    for p in props:
        if isinstance(p, Mapping) and ci_get(p, "Name") == name:
            v = ci_get(p, "Value")
            return v if v != "" else None
    return None
