"""Plain values shared by the report writers, the notebook API and the plots.

JSON-friendly scalars, ISO timestamps and the members of a cluster.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["iso", "members", "plain"]


def plain(v: Any) -> Any:
    """A scalar as a JSON-friendly Python value (NA/NaN -> None, timestamps -> ISO text)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, pd.Timestamp | datetime):
        return iso(v)
    if isinstance(v, list | tuple | np.ndarray):
        return [plain(x) for x in v]
    return v


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
    """Cluster members as a list (the clusterer may give a list or comma-separated text)."""
    v = plain(v)
    if v is None:
        return []
    if isinstance(v, list):
        return [str(x) for x in v]
    return [s.strip() for s in str(v).replace(";", ",").split(",") if s.strip()]
