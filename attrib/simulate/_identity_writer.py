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
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
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
    50034: "The user account does not exist in the tenant directory.",
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


def _iso_many(ts: np.ndarray) -> list[str]:
    """Entra's timestamps (seven decimals, ``Z``) for many epoch seconds at once."""
    us = np.rint(np.asarray(ts, dtype=float) * 1e6).astype("datetime64[us]")
    return [x + "0Z" for x in np.datetime_as_string(us, unit="us").tolist()]


def _uuids(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` random (version 4) UUIDs drawn from ``rng``."""
    b = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    b[:, 6] = (b[:, 6] & 0x0F) | 0x40
    b[:, 8] = (b[:, 8] & 0x3F) | 0x80
    h = b.tobytes().hex()
    out = []
    for i in range(0, 32 * n, 32):
        x = h[i : i + 32]
        out.append(f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}")
    return out


@lru_cache(maxsize=65536)
def _js(value: object) -> str:
    """JSON text of a scalar (cached: the same names, agents and places recur)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "null"
    return json.dumps(value, ensure_ascii=False)


_ENTRA = (
    '{"time":"%(time)s","resourceId":"/tenants/%(tenant)s/providers/Microsoft.aadiam",'
    '"operationName":"Sign-in activity","operationVersion":"1.0","category":"SignInLogs",'
    '"tenantId":"%(tenant)s","resultType":"%(err)d","resultSignature":"None",'
    '"resultDescription":%(reason)s,"durationMs":0,"callerIpAddress":"%(ip)s",'
    '"correlationId":"%(cid)s","identity":%(name)s,"Level":4,"location":%(country)s,'
    '"properties":{"id":"%(rid)s","createdDateTime":"%(created)s","userDisplayName":%(name)s,'
    '"userPrincipalName":"%(upn)s","userId":"%(user_id)s","appId":"%(app_id)s",'
    '"appDisplayName":"%(app_name)s","ipAddress":"%(ip)s","clientAppUsed":"%(client_app)s",'
    '"userAgent":%(ua)s,"correlationId":"%(cid)s","conditionalAccessStatus":"%(ca)s",'
    '"originalRequestId":"%(rid)s","isInteractive":true,"tokenIssuerName":"",'
    '"tokenIssuerType":"AzureAD","processingTimeInMilliseconds":%(ptime)d,"riskDetail":"none",'
    '"riskLevelAggregated":"none","riskLevelDuringSignIn":"none","riskState":"none",'
    '"riskEventTypes_v2":[],"resourceDisplayName":"%(res_name)s","resourceId":"%(res_id)s",'
    '"status":%(status)s,"deviceDetail":{"deviceId":"","displayName":"",'
    '"operatingSystem":%(os)s,"browser":%(browser)s,"isCompliant":false,"isManaged":false,'
    '"trustType":""},"location":{"city":%(city)s,"state":null,"countryOrRegion":%(country)s,'
    '"geoCoordinates":{"latitude":%(lat)s,"longitude":%(lon)s}},"mfaDetail":%(mfa)s,'
    '"authenticationRequirement":"%(authreq)s","autonomousSystemNumber":%(asn)s,'
    '"userType":"Member","crossTenantAccessType":"none","incomingTokenType":"none",'
    '"isTenantRestricted":false,"flaggedForReview":false}}'
)
_MFA = '{"authMethod":"Mobile app notification","authDetail":null}'


def _coord(v: Any) -> str:
    return "null" if v is None or pd.isna(v) else repr(round(float(v), 4))


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
    compress
        ``none`` or ``gz``.
    """

    def __init__(
        self, path: Path, tenant: str, rng: np.random.Generator, compress: str = "none"
    ) -> None:
        self._fh: IO[str] = io.TextIOWrapper(
            open_out(path, compress), encoding="utf-8", newline="\n"
        )
        self.tenant = tenant
        self.rng = rng
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
        n = len(df)
        if not n:
            return
        ids = _uuids(self.rng, 2 * n)
        created = _iso_many(df["ts"].to_numpy())
        logged = _iso_many(df["ts"].to_numpy() + 0.4)
        lines = []
        r: Any
        for i, r in enumerate(df.itertuples(index=False)):
            err = int(r.error)
            reason = ERRORS.get(err, "Other.") if err else ""
            app_id, app_name = APPS[r.app]
            asn = r.asn
            lines.append(
                _ENTRA
                % {
                    "time": logged[i],
                    "tenant": self.tenant,
                    "err": err,
                    "reason": _js(reason),
                    "ip": r.ip,
                    "cid": ids[2 * i + 1],
                    "rid": ids[2 * i],
                    "name": _js(r.name),
                    "country": _js(r.country),
                    "created": created[i],
                    "upn": r.upn,
                    "user_id": r.user_id,
                    "app_id": app_id,
                    "app_name": app_name,
                    "client_app": r.client_app,
                    "ua": _js(r.user_agent),
                    "ca": "notApplied" if err else "success",
                    "ptime": 80 + int(ids[2 * i][:4], 16) % 200,
                    "res_name": _EXO[1],
                    "res_id": _EXO[0],
                    "status": (
                        f'{{"errorCode":{err},"failureReason":{_js(reason)}}}'
                        if err
                        else '{"errorCode":0}'
                    ),
                    "os": _js(r.os),
                    "browser": _js(r.browser),
                    "city": _js(r.city),
                    "lat": _coord(r.lat),
                    "lon": _coord(r.lon),
                    "mfa": _MFA if r.mfa else "{}",
                    "authreq": "multiFactorAuthentication"
                    if r.mfa
                    else "singleFactorAuthentication",
                    "asn": "null" if asn is None or pd.isna(asn) else str(int(asn)),
                }
            )
        self._fh.write("\n".join(lines) + "\n")
        self.rows += n

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
        self._it: Iterator[str] = iter(())
        self.rng = rng
        self.rows = 0

    def write(self, df: pd.DataFrame) -> None:
        """Append mailbox-access records.

        Parameters
        ----------
        df
            Rows with ``ts``, ``upn``, ``user_id``, ``ip``, ``client_info``, ``app``.
        """
        self._it = iter(_uuids(self.rng, 6 * len(df)))
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
            "Id": next(self._it),
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
            "MailboxGuid": next(self._it),
            "MailboxOwnerSid": sid,
            "MailboxOwnerUPN": r.upn,
            "OperationProperties": [
                {"Name": "MailAccessType", "Value": "Bind"},
                {"Name": "IsThrottled", "Value": "False"},
            ],
            "OrganizationName": f"{self.domain}.onmicrosoft.com",
            "OriginatingServer": "AM0PR02MB5521 (15.20.8466.000)",
            "SessionId": next(self._it),
            "Folders": [
                {
                    "FolderItems": [
                        {"InternetMessageId": f"<{next(self._it)}@{self.domain}>"}
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
