"""Microsoft 365 Unified Audit Log records in their export shapes -> canonical columns.

Shapes: the Office 365 Management Activity API / ``Search-UnifiedAuditLog`` / Purview JSON
(the record itself), the ``AuditData`` column of the Purview CSV, and Sentinel / Log Analytics
``OfficeActivity`` rows (JSON, CSV or ``az monitor log-analytics query`` output), which rename
a few fields: ``TimeGenerated`` (for ``CreationTime``), ``OfficeWorkload`` (``Workload``),
``OfficeId`` (``Id``), ``Client_IPAddress`` (``ClientIPAddress``) and hold nested values
(``Folders``, ``OperationProperties``) as JSON text in CSV.

Common schema fields: ``CreationTime`` (UTC, no offset), ``Id``, ``Operation``, ``RecordType``,
``Workload``, ``UserId``, ``ResultStatus``, ``ClientIP``; Azure AD sign-in records add
``LogonError``, ``ActorIpAddress``, ``ApplicationId`` and ``ExtendedProperties`` (name/value
pairs holding ``UserAgent``); Exchange mailbox records (``MailItemsAccessed``...) carry the
client as ``ClientIPAddress``; SharePoint records carry ``UserAgent`` at the top level.

``ClientIP`` appears as ``1.2.3.4``, ``1.2.3.4:56789``, ``[2001:db8::1]:443``,
``2001:db8::1`` or ``::ffff:1.2.3.4``; all are normalised to the plain address, and a port,
when given, goes to ``src_port``.

``MailItemsAccessed`` records add what a token-abuse analysis needs: ``AppId`` and
``ClientAppId`` (the application), ``ClientInfoString``, ``SessionId``, ``MailboxOwnerUPN``
(the mailbox read), ``OperationProperties`` ``MailAccessType`` (``Bind`` or ``Sync``),
``OperationCount`` and ``Folders[].FolderItems[]`` (the items bound, counted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from attrib.io._fields import ci_get, first_of
from attrib.io.signin._common import as_list, name_value

__all__ = [
    "OFFICE_ACTIVITY_CSV",
    "is_m365_csv_header",
    "is_m365_record",
    "m365_columns",
    "m365_outcome",
]

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
#: Columns identifying a Log Analytics ``OfficeActivity`` CSV export (flat rows, no AuditData).
OFFICE_ACTIVITY_CSV = frozenset({"timegenerated", "operation", "officeworkload"})


def is_m365_record(rec: Mapping[str, Any]) -> bool:
    """Whether ``rec`` is a Unified Audit Log record.

    It must have ``CreationTime`` (``TimeGenerated`` in ``OfficeActivity``), ``Operation`` and
    ``RecordType``, ``Workload`` or ``OfficeWorkload``.

    Parameters
    ----------
    rec
        A JSON record.

    Returns
    -------
    bool
        True for audit records.
    """
    if not isinstance(ci_get(rec, "Operation"), str):
        return False
    if ci_get(rec, "CreationTime") is None and ci_get(rec, "TimeGenerated") is None:
        return False
    return any(ci_get(rec, k) is not None for k in ("RecordType", "Workload", "OfficeWorkload"))


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
    names = {h.split("[")[0].strip().lower() for h in header}
    return any(sig <= names for sig in _CSV_SIGNATURES) or OFFICE_ACTIVITY_CSV <= names


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
        "ts": [first_of(r, ("CreationTime",), ("TimeGenerated",)) for r in records],
        "src_ip": [first_of(r, *_IP) for r in records],
        "user": [ci_get(r, "UserId") for r in records],
        "app": [first_of(r, ("ApplicationId",), ("AppId",), ("ClientAppId",)) for r in records],
        "service": [first_of(r, ("Workload",), ("OfficeWorkload",)) for r in records],
        "event_type": ops,
        "user_agent": [_extended(r, "UserAgent") or first_of(r, ("UserAgent",)) for r in records],
        "outcome": [
            m365_outcome(o, ci_get(r, "ResultStatus")) for o, r in zip(ops, records, strict=True)
        ],
        "error_code": [
            first_of(r, ("LogonError",), ("ErrorNumber",)) or _extended(r, "ErrorNumber")
            for r in records
        ],  # fmt: skip
        "uid": [first_of(r, ("Id",), ("OfficeId",)) for r in records],
        "app_id": [first_of(r, ("AppId",), ("ApplicationId",)) for r in records],
        "client_app_id": [first_of(r, ("ClientAppId",)) for r in records],
        "session_id": [first_of(r, ("SessionId",)) for r in records],
        "mailbox": [first_of(r, ("MailboxOwnerUPN",)) for r in records],
        "access_type": [
            name_value(ci_get(r, "OperationProperties"), "MailAccessType") for r in records
        ],  # fmt: skip
        "op_count": [first_of(r, ("OperationCount",)) for r in records],
        "item_count": [_folder_items(ci_get(r, "Folders")) for r in records],
        "client_info": [first_of(r, ("ClientInfoString",)) for r in records],
    }


#: Client address fields, most specific first (``Client_IPAddress``: ``OfficeActivity``).
_IP = (("ClientIP",), ("ClientIPAddress",), ("Client_IPAddress",), ("ActorIpAddress",))


def _folder_items(folders: Any) -> int | None:
    """Items listed under ``Folders[].FolderItems`` (``None`` when no folder lists any)."""
    total: int | None = None
    for f in as_list(folders) or ():
        items = as_list(ci_get(f, "FolderItems"))
        if items is not None:
            total = (total or 0) + len(items)
    return total


def _extended(rec: Mapping[str, Any], name: str) -> Any:
    """Value of ``name`` in ``ExtendedProperties`` (a list of ``{"Name", "Value"}`` pairs)."""
    return name_value(ci_get(rec, "ExtendedProperties"), name)
