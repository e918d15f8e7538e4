"""Build frames whose text columns stay plain ``object`` arrays.

pandas 3 infers Arrow-backed ``str`` columns from Python strings; converting hundreds of
thousands of generated strings into Arrow and back on every step dominated the generator's run
time. Generated text stays ``object`` until the writers format it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["frame", "truth_frame"]


def _column(v: Any, n: int) -> Any:
    if isinstance(v, pd.Series):
        v = v.to_numpy()
    if isinstance(v, np.ndarray):
        if v.dtype.kind in "OUS":
            return pd.Series(v.astype(object, copy=False), dtype=object)
        return v
    if isinstance(v, list):
        return pd.Series(np.array(v, dtype=object), dtype=object)
    if v is None or isinstance(v, str):
        return pd.Series(np.full(n, v, dtype=object), dtype=object)
    return np.full(n, v)


def frame(columns: dict[str, Any]) -> pd.DataFrame:
    """A DataFrame from arrays and scalars; text (and ``None``) columns are ``object``.

    Parameters
    ----------
    columns
        Name -> array, list, Series or scalar (broadcast).

    Returns
    -------
    pandas.DataFrame
        With a default index.
    """
    n = 0
    for v in columns.values():
        if isinstance(v, np.ndarray | list | pd.Series):
            n = len(v)
            break
    return pd.DataFrame({k: _column(v, n) for k, v in columns.items()}, copy=False)


def truth_frame(
    ips: object, kind: str, label: str, start: object, end: object, **extra: object
) -> pd.DataFrame:
    """Truth rows of one population: address, label, kind, role (= kind), activity window."""
    return frame(
        {
            "ip": ips,
            "label": label,
            "kind": kind,
            "campaign": None,
            "role": kind,
            "first_active": start,
            "last_active": end,
            **extra,
        }
    )
