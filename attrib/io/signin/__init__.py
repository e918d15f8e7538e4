"""Identity-provider logs: Entra ID sign-ins, Okta System Log, Microsoft 365 Unified Audit Log.

Formats:

* ``entra``: sign-ins (Azure Monitor diagnostic export, Log Analytics / Sentinel ``SigninLogs``
  and ``AADNonInteractiveUserSignInLogs`` rows, Microsoft Graph ``auditLogs/signIns``), audit
  events (Graph ``directoryAudits``, Azure Monitor ``AuditLogs``, Sentinel ``AuditLogs``) and
  ``MicrosoftGraphActivityLogs``;
* ``okta``: System Log events (API JSON) and Sentinel ``Okta_CL`` rows (flattened columns);
* ``m365``: Unified Audit Log records (Management Activity API JSON, Purview JSON, the Purview /
  ``Search-UnifiedAuditLog`` CSV whose ``AuditData`` column holds the record) and Sentinel
  ``OfficeActivity`` rows.

Log Analytics rows come as JSON (lines or an array, e.g. ``az monitor log-analytics query``
output), as the query API's ``{"tables": [...]}`` document or as the portal's CSV. JSON may be
JSON lines, an array, or a ``{"records": [...]}`` / ``{"value": [...]}`` document (see
:mod:`attrib.io._jsonlines`); all are streamed in chunks.

A JSON or CSV file that resembles one of these shapes but lacks what is needed to read it is
claimed anyway and refused with a :class:`~attrib.errors.FormatError` that names the shape it
resembles and the missing fields (rather than being handed to the generic flow reader).

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
from attrib.io.signin._entra_audit import (
    audit_columns,
    graph_columns,
    is_audit_record,
    is_graph_record,
)
from attrib.io.signin._m365 import (
    is_m365_csv_header,
    is_m365_record,
    m365_columns,
)
from attrib.io.signin._okta import is_okta_csv_header, is_okta_record, okta_columns
from attrib.io.signin._shapes import resemblance

__all__ = ["FORMATS", "read_chunks", "resemblance", "sniff"]

logger = logging.getLogger(__name__)

FORMATS = ("entra", "okta", "m365")

_Columns = Callable[[Sequence[Mapping[str, Any]]], dict[str, list[Any]]]
_Accept = Callable[[Mapping[str, Any]], bool]
#: format -> its record kinds, each (accepts, columns), most specific first.
_KINDS: dict[str, tuple[tuple[_Accept, _Columns], ...]] = {
    "entra": (
        (is_graph_record, graph_columns),
        (is_audit_record, audit_columns),
        (is_entra_record, entra_columns),
    ),
    "okta": ((is_okta_record, okta_columns),),
    "m365": ((is_m365_record, m365_columns),),
}
#: CSV columns a Log Analytics export must have (any one of each group), per record kind.
_ENTRA_CSV_REQUIRED = (
    ("TimeGenerated", "CreatedDateTime"),
    ("IPAddress",),
    ("UserPrincipalName", "ServicePrincipalName", "AppDisplayName"),
)
_AUDIT_CSV_REQUIRED = (("TimeGenerated", "ActivityDateTime"), ("OperationName",))
_OKTA_CSV_REQUIRED = (("published_t", "TimeGenerated"), ("eventType_s",))
_OFFICE_CSV_REQUIRED = (("TimeGenerated",), ("Operation",), ("OfficeWorkload", "RecordType"))


def _accepts(fmt: str, rec: Mapping[str, Any]) -> bool:
    return any(accept(rec) for accept, _ in _KINDS[fmt])


def _columns(fmt: str, records: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Raw columns of a batch whose records may be of several kinds (order kept)."""
    kinds = _KINDS[fmt]
    if len(kinds) == 1:
        return kinds[0][1](records)
    last = len(kinds) - 1  # the format's main kind (rows a validated CSV header vouches for)
    which = [next((i for i, (acc, _) in enumerate(kinds) if acc(r)), last) for r in records]
    if len(set(which)) == 1:
        return kinds[which[0]][1](records)
    out: dict[str, list[Any]] = {}
    n = len(records)
    for k, (_, columns) in enumerate(kinds):
        idx = [i for i, w in enumerate(which) if w == k]
        if not idx:
            continue
        part = columns([records[i] for i in idx])
        for col, values in part.items():
            dest = out.setdefault(col, [None] * n)
            for i, v in zip(idx, values, strict=True):
                dest[i] = v
    return out


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
        if is_okta_csv_header(header):
            return "okta"
        if is_m365_csv_header(header):
            return "m365"
        hint = resemblance(header=header)
        return hint[1] if hint else None
    recs = head_records(head)
    if not recs:
        return None
    for fmt in _KINDS:
        if sum(1 for r in recs if _accepts(fmt, r)) * 2 > len(recs):
            return fmt
    hint = resemblance(records=recs)
    return hint[1] if hint else None


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
    if fmt not in _KINDS:
        raise ValueError(f"signin reader cannot read {fmt!r}")
    head = source.head()
    header = csv_header(head)
    if sniff(head) != fmt:  # this module reads three formats: a forced one must match
        raise UnknownFormatError(
            f"{source.path}: content is not {fmt} (forced with --format){_hint(head, header)}"
        )
    batches = _batches(source, ctx, fmt, head, header)
    sensor = str(source.path)
    for records in batches:
        if records:
            df = events_frame(_columns(fmt, records), ctx, sensor)
            df["source"] = pd.Series(fmt, index=df.index, dtype=df["source"].dtype)
            yield df


def _hint(head: bytes, header: list[str] | None) -> str:
    recs = None if header is not None else head_records(head)
    hint = resemblance(header=header) if header is not None else resemblance(records=recs)
    if hint is None:
        return ""
    shape, fmt, missing = hint
    if missing:
        return f"; it resembles {shape} (format {fmt}) but lacks {', '.join(missing)}"
    return f"; it looks like {shape}: use --format {fmt}, or leave --format out"


def _batches(
    source: Source, ctx: ReadContext, fmt: str, head: bytes, header: list[str] | None
) -> Iterator[list[dict[str, Any]]]:
    if header is None:
        _refuse_unreadable(source, fmt, head_records(head))
        return _accepted(iter_record_batches(source, ctx), ctx, fmt)
    names = {h.split("[")[0].strip().lstrip("\ufeff").lower() for h in header}
    if fmt == "m365" and "auditdata" in names:
        _require_columns(source, header, (("AuditData",),))
        return _auditdata_batches(source, ctx)
    if fmt == "m365" and not names & {"timegenerated", "officeworkload"}:
        _require_columns(source, header, (("AuditData",),))  # a Purview CSV without its record
    elif fmt == "m365":
        _require_columns(source, header, _OFFICE_CSV_REQUIRED)
    elif fmt == "okta":
        _require_columns(source, header, _OKTA_CSV_REQUIRED)
    elif "initiatedby" in names:
        _require_columns(source, header, _AUDIT_CSV_REQUIRED)
    elif not names & {"signinactivityid", "requesturi"}:
        _require_columns(source, header, _ENTRA_CSV_REQUIRED)
        # the header vouches for every row: a sign-in with empty cells is kept, its gaps null
        return ([row for _, row in b] for b in iter_csv_batches(source, ctx))
    return _accepted(iter_csv_batches(source, ctx), ctx, fmt)


def _refuse_unreadable(source: Source, fmt: str, recs: list[dict[str, Any]]) -> None:
    """A JSON head that only *resembles* ``fmt``: say which shape and what it lacks."""
    if recs and not any(_accepts(fmt, r) for r in recs):
        hint = resemblance(records=recs)
        if hint is not None:
            shape, _, missing = hint
            field = missing[0].split(" or ")[0].strip("'") if missing else None
            raise FormatError(
                str(source.path),
                f"records resemble {shape} but lack {', '.join(missing) or 'its key fields'}",
                1,
                field,
            )


def _accepted(
    batches: Iterator[list[tuple[int, dict[str, Any]]]], ctx: ReadContext, fmt: str
) -> Iterator[list[dict[str, Any]]]:
    """The records of each ``(line, record)`` batch that ``fmt`` accepts; the others counted."""
    for batch in batches:
        keep = []
        for lineno, rec in batch:
            if _accepts(fmt, rec):
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
