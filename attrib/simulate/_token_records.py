"""Records of the ``token_forgery`` scenario: Entra sign-ins with sessions and tokens, mail access.

Sign-ins are Azure Monitor diagnostic-export JSON lines (``category`` ``SignInLogs``,
``NonInteractiveUserSignInLogs`` or ``ServicePrincipalSignInLogs``; the Graph-shaped sign-in
under ``properties`` with ``sessionId``, ``uniqueTokenIdentifier``, ``incomingTokenType``,
``isInteractive``). Mail access is Unified Audit Log ``MailItemsAccessed`` (``RecordType`` 50)
with ``AppId``, ``ClientAppId``, ``SessionId``, ``MailboxOwnerUPN``, ``ClientInfoString``,
``OperationProperties`` ``MailAccessType`` and ``Folders[].FolderItems[]`` /
``OperationCount``, as the Office 365 Management Activity API returns them.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["mail_record", "signin_record", "token_id"]

_CATEGORY = {
    "interactive": "SignInLogs",
    "non_interactive": "NonInteractiveUserSignInLogs",
    "service_principal": "ServicePrincipalSignInLogs",
}
_EXO = ("00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online")


def token_id(rng: np.random.Generator) -> str:
    """A ``uniqueTokenIdentifier``: 16 random bytes, base64url without padding."""
    return base64.urlsafe_b64encode(rng.bytes(16)).decode().rstrip("=")


def _iso7(t: float) -> str:
    dt = datetime.fromtimestamp(t, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}0Z"


def signin_record(r: Any, tenant: str, ids: tuple[str, str], tok: str) -> str:
    """One sign-in as an Azure Monitor diagnostic-export line.

    Parameters
    ----------
    r
        Row with ``ts``, ``upn``, ``user_id``, ``ip``, ``kind``, ``app_id``, ``app_name``,
        ``session``, ``user_agent``, ``asn``, ``country``, ``city``, ``lat``, ``lon``.
    tenant
        Tenant id.
    ids
        Record id and correlation id.
    tok
        ``uniqueTokenIdentifier``.

    Returns
    -------
    str
        The JSON line.
    """
    kind = str(r.kind)
    sp = kind == "service_principal"
    props: dict[str, Any] = {
        "id": ids[0],
        "createdDateTime": _iso7(r.ts),
        "userPrincipalName": None if sp else r.upn,
        "userId": r.user_id,
        "servicePrincipalName": r.upn if sp else None,
        "servicePrincipalId": r.user_id if sp else None,
        "appId": r.app_id,
        "appDisplayName": r.app_name,
        "ipAddress": r.ip,
        "clientAppUsed": "Mobile Apps and Desktop clients",
        "userAgent": r.user_agent,
        "correlationId": ids[1],
        "conditionalAccessStatus": "success",
        "isInteractive": kind == "interactive",
        "tokenIssuerName": "",
        "tokenIssuerType": "AzureAD",
        "incomingTokenType": "none" if kind == "interactive" else "refreshToken",
        "uniqueTokenIdentifier": tok,
        "sessionId": r.session if isinstance(r.session, str) else None,
        "resourceDisplayName": _EXO[1],
        "resourceId": _EXO[0],
        "status": {"errorCode": 0},
        "autonomousSystemNumber": None if pd.isna(r.asn) else int(r.asn),
        "location": {
            "city": r.city,
            "countryOrRegion": r.country,
            "geoCoordinates": {
                "latitude": None if pd.isna(r.lat) else round(float(r.lat), 4),
                "longitude": None if pd.isna(r.lon) else round(float(r.lon), 4),
            },
        },
        "userType": "Member",
    }
    rec = {
        "time": _iso7(r.ts + 0.4),
        "resourceId": f"/tenants/{tenant}/providers/Microsoft.aadiam",
        "operationName": "Sign-in activity",
        "operationVersion": "1.0",
        "category": _CATEGORY[kind],
        "tenantId": tenant,
        "resultType": "0",
        "resultSignature": "None",
        "durationMs": 0,
        "callerIpAddress": r.ip,
        "correlationId": ids[1],
        "Level": 4,
        "location": r.country,
        "properties": props,
    }
    return json.dumps(rec, separators=(",", ":"), ensure_ascii=False)


def mail_record(r: Any, tenant: str, domain: str, rid: str, msg_ids: list[str]) -> str:
    """One ``MailItemsAccessed`` record as a JSON line.

    Parameters
    ----------
    r
        Row with ``ts``, ``upn`` (the account of the token), ``mailbox``, ``user_id``, ``ip``,
        ``port``, ``app_id``, ``client_app_id``, ``client_info``, ``session``, ``access``
        (``Bind``/``Sync``) and ``items``.
    tenant, domain
        Organisation id and initial domain prefix.
    rid
        Record id.
    msg_ids
        Message ids of the items bound (one per item; ignored for ``Sync``).

    Returns
    -------
    str
        The JSON line.
    """
    sync = r.access == "Sync"
    folder: dict[str, Any] = {"Id": "LgAAAAAdhAMRqmYRzZvIAKoAL8RaAQ", "Path": "\\Inbox"}
    if not sync:
        folder["FolderItems"] = [{"InternetMessageId": f"<{m}@{domain}>"} for m in msg_ids]
    ip = f"{r.ip}:{int(r.port)}" if r.port and ":" not in r.ip else r.ip
    rec = {
        "CreationTime": datetime.fromtimestamp(r.ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "Id": rid,
        "Operation": "MailItemsAccessed",
        "OrganizationId": tenant,
        "RecordType": 50,
        "ResultStatus": "Succeeded",
        "UserKey": r.user_id,
        "UserType": 0,
        "Version": 1,
        "Workload": "Exchange",
        "UserId": r.upn,
        "AppId": r.app_id,
        "ClientAppId": r.client_app_id or "",
        "ClientIPAddress": ip,
        "ClientInfoString": r.client_info,
        "ExternalAccess": False,
        "InternalLogonType": 0,
        "LogonType": 0,
        "MailboxGuid": r.user_id,
        "MailboxOwnerUPN": r.mailbox,
        "OperationProperties": [
            {"Name": "MailAccessType", "Value": r.access},
            {"Name": "IsThrottled", "Value": "False"},
        ],
        "OrganizationName": f"{domain}.onmicrosoft.com",
        "OriginatingServer": "AM0PR02MB5521 (15.20.8466.000)",
        "SessionId": r.session if isinstance(r.session, str) else "",
        "Folders": [folder],
        "OperationCount": int(r.items),
    }
    return json.dumps(rec, separators=(",", ":"))
