"""Plain values shared by the report writers, the notebook API and the plots.

JSON-friendly scalars, ISO timestamps and the members of a cluster.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from attrib.schema import cluster_members, plain_value

__all__ = ["iso", "members", "plain"]


def plain(v: Any) -> Any:
    """A scalar as a JSON-friendly Python value (NA/NaN -> None, timestamps -> ISO text)."""
    return plain_value(v, iso)


def iso(v: Any) -> str | None:
    """A timestamp as ISO-8601 UTC text with a ``Z`` suffix, or None."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    ts = pd.Timestamp(v)
    if ts is pd.NaT:
        return None
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return str(ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z")


def members(v: Any) -> list[str]:
    """Cluster members as a list (see :func:`attrib.schema.cluster_members`)."""
    return cluster_members(plain(v))
