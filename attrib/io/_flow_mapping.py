"""Flow mappings: how a flow export's columns map onto canonical event columns.

A mapping is a small TOML file (see ``docs/formats.md`` and ``data/mappings/``)::

    name = "argus-csv"
    format = "csv"          # csv (with a header line) or json (JSON lines)
    delimiter = ","         # csv only
    ts_unit = "s"           # epoch numbers: s, ms, us or ns; or ts_format = "iso8601" / strftime
    duration_unit = "s"

    [columns]               # canonical column = column (CSV) or dotted key (JSON) in the export
    ts = "StartTime"
    src_ip = "SrcAddr"
    ...

``ts_end`` (flow end time) may be mapped instead of ``duration``; the duration is then computed.
A count may be the difference of two columns, ``ip_bytes_in = "TotBytes - SrcBytes"``, for exports
that give a total and one direction (Argus/Stratosphere ``binetflow``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attrib.errors import ConfigError
from attrib.schema import EVENT_DTYPES

__all__: list[str] = []  # private; see attrib.io.netflow

#: Canonical columns a mapping may fill (plus the pseudo-column ``ts_end``).
MAPPABLE = tuple(c for c in EVENT_DTYPES if c not in ("source", "event_type")) + ("ts_end",)
_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


@dataclass(frozen=True)
class FlowMapping:
    """A validated flow mapping."""

    name: str
    format: str  # "csv" or "json"
    columns: dict[str, str]  # canonical -> source column
    delimiter: str = ","
    ts_unit: str | None = None
    ts_format: str | None = None
    duration_unit: str = "s"
    path: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: canonical columns whose source column must be present (None: all mapped columns)
    required: tuple[str, ...] | None = None

    @property
    def ts_scale(self) -> float:
        """Seconds per unit of an epoch-number timestamp."""
        return _UNITS[self.ts_unit or "s"]

    @property
    def duration_scale(self) -> float:
        """Seconds per unit of the duration column."""
        return _UNITS[self.duration_unit]


def sources(value: str) -> list[str]:
    """The export columns one ``[columns]`` value reads: one name, or two for ``"A - B"``.

    Parameters
    ----------
    value
        A ``[columns]`` value.

    Returns
    -------
    list of str
        Column names.
    """
    a, sep, b = value.partition(" - ")
    return [a.strip(), b.strip()] if sep and a.strip() and b.strip() else [value]


def load_mapping(path: str | Path) -> FlowMapping:
    """Read and validate a TOML flow mapping.

    Parameters
    ----------
    path
        The TOML file.

    Returns
    -------
    FlowMapping
        The mapping.

    Raises
    ------
    ConfigError
        When the file is missing, not TOML, or names unknown columns, formats or units.
    """
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read flow mapping: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: not a valid TOML flow mapping: {exc}") from None
    return mapping_from_dict(raw, str(p))


def mapping_from_dict(raw: dict[str, Any], where: str = "<mapping>") -> FlowMapping:
    """Validate a mapping given as a dict (the parsed TOML).

    Parameters
    ----------
    raw
        The parsed TOML.
    where
        Named in error messages.

    Returns
    -------
    FlowMapping
        The mapping.
    """
    cols = raw.get("columns")
    if not isinstance(cols, dict) or not cols:
        raise ConfigError(f"{where}: a flow mapping needs a [columns] table")
    unknown = sorted(set(cols) - set(MAPPABLE))
    if unknown:
        raise ConfigError(
            f"{where}: unknown canonical column(s) {', '.join(unknown)}; "
            f"choose from: {', '.join(MAPPABLE)}"
        )
    if not all(isinstance(v, str) and v for v in cols.values()):
        raise ConfigError(f"{where}: every [columns] value must be a column name (text)")
    if "src_ip" not in cols:
        raise ConfigError(f"{where}: [columns] must map src_ip")
    fmt = str(raw.get("format", "csv")).lower()
    if fmt not in ("csv", "json"):
        raise ConfigError(f"{where}: format must be 'csv' or 'json', not {fmt!r}")
    for key in ("ts_unit", "duration_unit"):
        if key in raw and raw[key] not in _UNITS:
            raise ConfigError(f"{where}: {key} must be one of {', '.join(_UNITS)}")
    delim = str(raw.get("delimiter", ","))
    if fmt == "csv" and len(delim.encode()) != 1:
        raise ConfigError(f"{where}: delimiter must be one character")
    known = {"name", "format", "delimiter", "ts_unit", "ts_format", "duration_unit", "columns"}
    return FlowMapping(
        name=str(raw.get("name", Path(where).stem)),
        format=fmt,
        columns={str(k): str(v) for k, v in cols.items()},
        delimiter=delim,
        ts_unit=raw.get("ts_unit"),
        ts_format=raw.get("ts_format"),
        duration_unit=str(raw.get("duration_unit", "s")),
        path=where,
        extra={k: v for k, v in raw.items() if k not in known},
    )


#: nfdump ``-o csv`` (1.6 and 1.7): ``ibyt``/``ipkt`` are the flow's own (src -> dst) counters,
#: counted at layer 3 (IP header included); ``obyt``/``opkt`` are reverse counters that only
#: bidirectional exports (NSEL, IPFIX biflows) fill. ``ra`` is the exporter (router) address.
NFDUMP = FlowMapping(
    name="nfdump-csv",
    format="csv",
    columns={
        "ts": "ts",
        "ts_end": "te",
        "duration": "td",
        "src_ip": "sa",
        "dst_ip": "da",
        "src_port": "sp",
        "dst_port": "dp",
        "proto": "pr",
        "pkts_out": "ipkt",
        "ip_bytes_out": "ibyt",
        "pkts_in": "opkt",
        "ip_bytes_in": "obyt",
        "sensor": "ra",
    },
    ts_format="iso8601",
    path="<nfdump>",
    required=("ts", "src_ip", "dst_ip"),
)
