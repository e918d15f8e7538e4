"""Entra ID sign-in logs (Azure Monitor diagnostic export) and Microsoft 365 audit records.

Sign-ins are written as the JSON lines an Azure Monitor diagnostic setting exports to a storage
account (``time``, ``resourceId``, ``operationName``, ``category: SignInLogs``,
``resultType``, ``callerIpAddress`` and the Graph-shaped sign-in under ``properties``).
Mailbox accesses are Unified Audit Log ``MailItemsAccessed`` records (``RecordType`` 50,
``Workload`` Exchange, client as ``ClientIPAddress``), one JSON object per line.
"""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from attrib.simulate._outfile import open_out

__all__ = ["APPS", "ERRORS", "EntraWriter", "M365Writer"]

#: Entra error code -> failure reason (as Entra words it).
ERRORS: dict[int, str] = {
    0: "Other.",
    50126: "Error validating credentials due to invalid username or password.",
    50074: "Strong Authentication is required.",
    50140: "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.",
    50053: "Account is locked because user tried to sign in too many times with an incorrect "
    "user ID or password.",
}
#: First-party application ids and names.
APPS: dict[str, tuple[str, str]] = {
    "office": ("4765445b-32c6-49b0-83e6-1d93765276ca", "OfficeHome"),
    "outlook_web": ("9199bf20-a13f-4107-85dc-02114787ef48", "One Outlook Web"),
    "teams": ("1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams"),
    "ms_office": ("d3590ed6-52b3-4102-aeff-aad2292ab01c", "Microsoft Office"),
    "azure_portal": ("c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "Azure Portal"),
}
_EXO = ("00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online")


def _iso(t: float, digits: int = 7) -> str:
    dt = datetime.fromtimestamp(t, tz=UTC)
    frac = f"{dt.microsecond:06d}" + "0" * max(0, digits - 6)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + frac[:digits] + "Z"


class _Ids:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def new(self) -> str:
        return str(uuid.UUID(bytes=self.rng.bytes(16), version=4))


class EntraWriter:
    """Write Entra ID sign-ins as Azure Monitor diagnostic-export JSON lines.

    Parameters
    ----------
    path
        Target file.
    tenant
        Tenant id.
    rng
        Random generator (for record ids).
    """

    def __init__(
        self, path: Path, tenant: str, rng: np.random.Generator, compress: str = "none"
    ) -> None:
        self._fh: IO[str] = io.TextIOWrapper(
            open_out(path, compress), encoding="utf-8", newline="\n"
        )
        self.tenant = tenant
        self.ids = _Ids(rng)
        self.rows = 0

    def write(self, df: pd.DataFrame) -> None:
        """Append sign-ins.

        Parameters
        ----------
        df
            Rows with ``ts``, ``upn``, ``name``, ``user_id``, ``ip``, ``app``, ``client_app``,
            ``user_agent``, ``error``, ``os``, ``browser``, ``mfa`` and the address's
            ``asn``, ``country``, ``city``, ``lat``, ``lon``.
        """
        lines = [json.dumps(self._record(r), separators=(",", ":")) for r in df.itertuples()]
        if lines:
            self._fh.write("\n".join(lines) + "\n")
        self.rows += len(lines)

    def _record(self, r: Any) -> dict[str, Any]:
        err = int(r.error)
        app_id, app_name = APPS[r.app]
        rid, cid = self.ids.new(), self.ids.new()
        status: dict[str, Any] = {"errorCode": err}
        if err:
            status["failureReason"] = ERRORS.get(err, "Other.")
        ok = err == 0
        loc: dict[str, Any] = {
            "city": None if pd.isna(r.city) else str(r.city),
            "state": None,
            "countryOrRegion": None if pd.isna(r.country) else str(r.country),
            "geoCoordinates": {
                "latitude": None if pd.isna(r.lat) else round(float(r.lat), 4),
                "longitude": None if pd.isna(r.lon) else round(float(r.lon), 4),
            },
        }
        props = {
            "id": rid,
            "createdDateTime": _iso(r.ts),
            "userDisplayName": r.name,
            "userPrincipalName": r.upn,
            "userId": r.user_id,
            "appId": app_id,
            "appDisplayName": app_name,
            "ipAddress": r.ip,
            "clientAppUsed": r.client_app,
            "userAgent": r.user_agent,
            "correlationId": cid,
            "conditionalAccessStatus": "success" if ok else "notApplied",
            "originalRequestId": rid,
            "isInteractive": True,
            "tokenIssuerName": "",
            "tokenIssuerType": "AzureAD",
            "processingTimeInMilliseconds": 80 + int(rid[:4], 16) % 200,
            "riskDetail": "none",
            "riskLevelAggregated": "none",
            "riskLevelDuringSignIn": "none",
            "riskState": "none",
            "riskEventTypes_v2": [],
            "resourceDisplayName": _EXO[1],
            "resourceId": _EXO[0],
            "status": status,
            "deviceDetail": {
                "deviceId": "",
                "displayName": "",
                "operatingSystem": r.os,
                "browser": r.browser,
                "isCompliant": False,
                "isManaged": False,
                "trustType": "",
            },
            "location": loc,
            "mfaDetail": {"authMethod": "Mobile app notification", "authDetail": None}
            if r.mfa
            else {},
            "authenticationRequirement": "multiFactorAuthentication"
            if r.mfa
            else "singleFactorAuthentication",
            "autonomousSystemNumber": None if pd.isna(r.asn) else int(r.asn),
            "userType": "Member",
            "crossTenantAccessType": "none",
            "incomingTokenType": "none",
            "isTenantRestricted": False,
            "flaggedForReview": False,
        }
        rec = {
            "time": _iso(r.ts + 0.4),
            "resourceId": f"/tenants/{self.tenant}/providers/Microsoft.aadiam",
            "operationName": "Sign-in activity",
            "operationVersion": "1.0",
            "category": "SignInLogs",
            "tenantId": self.tenant,
            "resultType": str(err),
            "resultSignature": "None",
            "resultDescription": status.get("failureReason", ""),
            "durationMs": 0,
            "callerIpAddress": r.ip,
            "correlationId": cid,
            "identity": r.name,
            "Level": 4,
            "location": loc["countryOrRegion"],
            "properties": props,
        }
        return rec

    def close(self) -> None:
        """Close the file."""
        self._fh.close()


class M365Writer:
    """Write Unified Audit Log ``MailItemsAccessed`` records as JSON lines.

    Parameters
    ----------
    path
        Target file.
    tenant
        Organisation id.
    domain
        Tenant's initial domain prefix.
    rng
        Random generator.
    """

    def __init__(
        self, path: Path, tenant: str, domain: str, rng: np.random.Generator, compress: str = "none"
    ) -> None:
        self._fh: IO[str] = io.TextIOWrapper(
            open_out(path, compress), encoding="utf-8", newline="\n"
        )
        self.tenant, self.domain = tenant, domain
        self.ids = _Ids(rng)
        self.rng = rng
        self.rows = 0

    def write(self, df: pd.DataFrame) -> None:
        """Append mailbox-access records.

        Parameters
        ----------
        df
            Rows with ``ts``, ``upn``, ``user_id``, ``ip``, ``client_info``, ``app``.
        """
        lines = [json.dumps(self._record(r), separators=(",", ":")) for r in df.itertuples()]
        if lines:
            self._fh.write("\n".join(lines) + "\n")
        self.rows += len(lines)

    def _record(self, r: Any) -> dict[str, Any]:
        n = int(self.rng.integers(1, 12))
        uid = r.user_id
        sid = f"S-1-5-21-{int(self.tenant[:8], 16)}-{int(uid[:8], 16)}-{1000 + int(uid[9:13], 16)}"
        return {
            "CreationTime": datetime.fromtimestamp(r.ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "Id": self.ids.new(),
            "Operation": "MailItemsAccessed",
            "OrganizationId": self.tenant,
            "RecordType": 50,
            "ResultStatus": "Succeeded",
            "UserKey": r.user_id,
            "UserType": 0,
            "Version": 1,
            "Workload": "Exchange",
            "UserId": r.upn,
            "AppId": APPS[r.app][0],
            "ClientAppId": "",
            "ClientIPAddress": r.ip,
            "ClientInfoString": r.client_info,
            "ExternalAccess": False,
            "InternalLogonType": 0,
            "LogonType": 0,
            "LogonUserSid": sid,
            "MailboxGuid": self.ids.new(),
            "MailboxOwnerSid": sid,
            "MailboxOwnerUPN": r.upn,
            "OperationProperties": [
                {"Name": "MailAccessType", "Value": "Bind"},
                {"Name": "IsThrottled", "Value": "False"},
            ],
            "OrganizationName": f"{self.domain}.onmicrosoft.com",
            "OriginatingServer": "AM0PR02MB5521 (15.20.8466.000)",
            "SessionId": self.ids.new(),
            "Folders": [
                {
                    "FolderItems": [
                        {"InternetMessageId": f"<{self.ids.new()}@{self.domain}>"}
                        for _ in range(min(n, 3))
                    ],
                    "Id": "LgAAAAAdhAMRqmYRzZvIAKoAL8RaAQ",
                    "Path": "\\Inbox",
                }
            ],
            "OperationCount": n,
        }

    def close(self) -> None:
        """Close the file."""
        self._fh.close()
