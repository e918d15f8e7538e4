"""Identity-provider logs: Entra ID sign-ins, Okta System Log, Microsoft 365 Unified Audit Log.

Formats: ``entra`` (Azure Monitor diagnostic export, Log Analytics / Sentinel ``SigninLogs``
rows as JSON or CSV, Microsoft Graph ``auditLogs/signIns``), ``okta`` and ``m365`` (JSON, or
the Purview / ``Search-UnifiedAuditLog`` CSV whose ``AuditData`` column holds the record).
JSON may be JSON lines, an array, or a ``{"records": [...]}`` / ``{"value": [...]}`` document
(see :mod:`attrib.io._jsonlines`); all are streamed in chunks.

Every event puts the client address in ``src_ip`` (port in ``src_port`` when the provider
logged one) and leaves ``dst_ip`` null. Row policy:

* a record of another shape inside the file (e.g. a Graph paging object, an Okta event in an
  Entra file) is skipped and counted as ``"not an <fmt> record"``;
* a record of the right shape without a usable timestamp or client address is **kept** with
  that value null and counted in ``FileStats.nulled`` (``"missing timestamp"``,
  ``"missing client IP"``...): the other fields (account, outcome) still inform the analysis,
  and system-generated audit records legitimately carry no client address.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import orjson
import pandas as pd

from attrib.errors import FormatError, UnknownFormatError
from attrib.io._base import ReadContext
from attrib.io._csvrows import csv_header, iter_csv_batches, normalize_header
from attrib.io._fields import events_frame
from attrib.io._jsonlines import head_records, iter_record_batches
from attrib.io._source import Source
from attrib.io.signin._entra import entra_columns, is_entra_csv_header, is_entra_record
from attrib.io.signin._m365 import is_m365_csv_header, is_m365_record, m365_columns
from attrib.io.signin._okta import is_okta_record, okta_columns

__all__ = ["FORMATS", "read_chunks", "sniff"]

logger = logging.getLogger(__name__)

FORMATS = ("entra", "okta", "m365")

_Columns = Callable[[Sequence[Mapping[str, Any]]], dict[str, list[Any]]]
_SHAPES: dict[str, tuple[Callable[[Mapping[str, Any]], bool], _Columns]] = {
    "entra": (is_entra_record, entra_columns),
    "okta": (is_okta_record, okta_columns),
    "m365": (is_m365_record, m365_columns),
}
#: CSV columns a Log Analytics sign-in export must have (any one of each group).
_ENTRA_CSV_REQUIRED = (
    ("TimeGenerated", "CreatedDateTime"),
    ("IPAddress",),
    ("UserPrincipalName", "ServicePrincipalName", "AppDisplayName"),
)


def sniff(head: bytes) -> str | None:
    """Return ``"entra"``, ``"okta"`` or ``"m365"`` when the head is one of their exports.

    Parameters
    ----------
    head
        The first bytes of the decompressed file.

    Returns
    -------
    str or None
        The format name, or ``None``.
    """
    try:
        return _sniff(head)
    except Exception:  # noqa: BLE001 - a sniffer must never raise
        return None


def _sniff(head: bytes) -> str | None:
    header = csv_header(head)
    if header is not None:
        if is_entra_csv_header(header):
            return "entra"
        return "m365" if is_m365_csv_header(header) else None
    recs = head_records(head)
    if not recs:
        return None
    for fmt, (accepts, _) in _SHAPES.items():
        if sum(1 for r in recs if accepts(r)) * 2 > len(recs):
            return fmt
    return None


def read_chunks(source: Source, ctx: ReadContext, fmt: str) -> Iterator[pd.DataFrame]:
    """Yield canonical event chunks from an identity-provider log file.

    Parameters
    ----------
    source
        The input file.
    ctx
        Read context (chunk size, bad-row accounting).
    fmt
        ``"entra"``, ``"okta"`` or ``"m365"``.

    Yields
    ------
    pandas.DataFrame
        Chunks conforming to :data:`attrib.schema.EVENT_DTYPES`.
    """
    if fmt not in _SHAPES:
        raise ValueError(f"signin reader cannot read {fmt!r}")
    head = source.head()
    if sniff(head) != fmt:  # this module reads three formats: a forced one must match
        raise UnknownFormatError(f"{source.path}: content is not {fmt} (forced with --format)")
    header = csv_header(head)
    if header is None:
        batches = _json_batches(source, ctx, fmt)
    elif fmt == "entra":
        _require_columns(source, header, _ENTRA_CSV_REQUIRED)
        batches = ([row for _, row in b] for b in iter_csv_batches(source, ctx))
    elif fmt == "m365":
        _require_columns(source, header, (("AuditData",),))
        batches = _auditdata_batches(source, ctx)
    else:  # pragma: no cover - sniff never calls a CSV okta
        raise FormatError(str(source.path), f"{fmt} logs are JSON, not CSV", 1)
    columns = _SHAPES[fmt][1]
    sensor = str(source.path)
    for records in batches:
        if records:
            df = events_frame(columns(records), ctx, sensor)
            df["source"] = pd.Series(fmt, index=df.index, dtype=df["source"].dtype)
            yield df


def _json_batches(source: Source, ctx: ReadContext, fmt: str) -> Iterator[list[dict[str, Any]]]:
    accepts = _SHAPES[fmt][0]
    for batch in iter_record_batches(source, ctx):
        keep = []
        for lineno, rec in batch:
            if accepts(rec):
                keep.append(rec)
            else:
                ctx.bad(f"not an {fmt} record", lineno)
        yield keep


def _auditdata_batches(source: Source, ctx: ReadContext) -> Iterator[list[dict[str, Any]]]:
    for batch in iter_csv_batches(source, ctx):
        keep = []
        for lineno, row in batch:
            rec = _auditdata(row)
            if rec is None:
                ctx.bad("invalid AuditData JSON", lineno)
            elif not is_m365_record(rec):
                ctx.bad("AuditData is not an audit record", lineno)
            else:
                keep.append(rec)
        yield keep


def _auditdata(row: Mapping[str, str]) -> dict[str, Any] | None:
    text = next((v for k, v in row.items() if k.lower() == "auditdata"), "")
    try:
        rec = orjson.loads(text)
    except ValueError:
        return None
    return rec if isinstance(rec, dict) else None


def _require_columns(source: Source, header: list[str], groups: Sequence[Sequence[str]]) -> None:
    try:
        names = {normalize_header(h).lower() for h in header}
    except ValueError as exc:
        raise FormatError(str(source.path), str(exc), 1) from None
    for group in groups:
        if not any(g.lower() in names for g in group):
            want = " or ".join(repr(g) for g in group)
            raise FormatError(
                str(source.path), f"CSV header lacks the required column {want}", 1, group[0]
            )
