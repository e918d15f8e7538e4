"""Helpers shared by the identity mappings: JSON text in flat exports, name/value lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from attrib.io._fields import ci_get

__all__ = ["as_list", "as_mapping", "name_value", "truthy"]


def as_list(value: Any) -> list[Any] | None:
    """A JSON array, also when a flat export (Sentinel CSV, ``az`` output) holds it as text.

    Parameters
    ----------
    value
        A list, JSON text of a list, or anything else.

    Returns
    -------
    list or None
        The list, or ``None`` when ``value`` is not one.
    """
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            out = orjson.loads(value)  # depth-limited (json: RecursionError)
        except ValueError:
            return None
        return out if isinstance(out, list) else None
    return None


def as_mapping(value: Any) -> Mapping[str, Any] | None:
    """A JSON object, also when held as text.

    Parameters
    ----------
    value
        A mapping, JSON text of an object, or anything else.

    Returns
    -------
    Mapping or None
        The mapping, or ``None``.
    """
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            out = orjson.loads(value)
        except ValueError:
            return None
        return out if isinstance(out, dict) else None
    return None


def name_value(items: Any, name: str, *, key: str = "Name", val: str = "Value") -> Any:
    """Value of ``name`` in a list of ``{"Name": ..., "Value": ...}`` pairs (or its JSON text).

    Parameters
    ----------
    items
        The list (``OperationProperties``, ``ExtendedProperties``, ...).
    name
        The entry to find (case-insensitive).
    key, val
        Field names of the pairs (``key``/``value`` in Entra's lists).

    Returns
    -------
    object or None
        The value, ``None`` when absent or empty.
    """
    for p in as_list(items) or ():
        n = ci_get(p, key)
        if isinstance(n, str) and n.lower() == name.lower():
            v = ci_get(p, val)
            return None if v == "" else v
    return None


def truthy(value: Any) -> bool | None:
    """``True``/``False`` from a JSON boolean or its text (``"true"``, ``"False"``, ``1``).

    Parameters
    ----------
    value
        The raw value.

    Returns
    -------
    bool or None
        ``None`` when the value is absent or not a boolean.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value) if value in (0, 1) else None
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "1"):
            return True
        if low in ("false", "0"):
            return False
    return None
