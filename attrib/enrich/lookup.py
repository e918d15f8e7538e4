"""``attrib.enrich()``: enrich a list of addresses or a DataFrame's address column."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import pandas as pd

from attrib.enrich.enricher import default_enricher
from attrib.errors import DataError
from attrib.schema import ENRICH_ECS_FIELDS, IP_COLUMNS

__all__ = ["enrich"]


def enrich(
    ips_or_frame: Iterable[Any] | pd.DataFrame,
    *,
    column: str | None = None,
    geoip_dir: str | os.PathLike[str] | None = None,
    ecs: bool = True,
) -> pd.DataFrame:
    """Enrich addresses (a list/Series, or a column of a DataFrame).

    Parameters
    ----------
    ips_or_frame
        Addresses, or a frame holding them in ``column``.
    column
        The address column of a frame (default: the first of
        :data:`attrib.schema.IP_COLUMNS` present).
    geoip_dir
        Folder of the user's ``.mmdb`` files (see :meth:`Enricher.load`).
    ecs
        Name columns by Elastic ECS (``source.as.number``, ``source.geo.city_name``, ...,
        ``attrib.net_type``); ``False`` keeps attrib's canonical names.

    Returns
    -------
    pandas.DataFrame
        For a list: ``ip`` (``source.ip``), ``ip_error`` and the enrichment columns. For a
        frame: its columns followed by the enrichment columns.

    Raises
    ------
    attrib.errors.DataError
        Bundled/user data missing or corrupt, or ``column`` absent.
    """
    e = default_enricher(geoip_dir)
    if isinstance(ips_or_frame, pd.DataFrame):
        df = ips_or_frame
        col = column or next((c for c in IP_COLUMNS if c in df.columns), None)
        if col is None or col not in df.columns:
            raise DataError(
                f"enrich: no address column (give column=; have {list(df.columns)[:10]})"
            )
        res = e.lookup(df[col]).drop(columns=["ip"])
        res.index = df.index
        if ecs:
            res = res.rename(
                columns={c: ENRICH_ECS_FIELDS.get(c, f"attrib.{c}") for c in res.columns}
            )
        return pd.concat([df, res], axis=1)
    res = e.lookup(ips_or_frame)
    if ecs:
        res = res.rename(columns={c: ENRICH_ECS_FIELDS.get(c, f"attrib.{c}") for c in res.columns})
    return res
