"""The ``DataFrame.attrib`` accessor: attrib's stages on any pandas frame.

Registered when :mod:`attrib.accessor` is imported, which :func:`attrib.analyze` (and
:mod:`attrib.pipeline`) do; in a notebook, ``import attrib.accessor`` makes it available at once.

>>> import pandas as pd, attrib.accessor
>>> df = pd.DataFrame({"ip": ["8.8.8.8", "192.0.2.1"]})
>>> df.attrib.enrich()  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from attrib.errors import ConfigError
from attrib.schema import IP_COLUMNS

__all__ = ["AttribAccessor", "IP_COLUMNS"]


class AttribAccessor:
    """``df.attrib``: enrich addresses, convert to ECS, analyse events.

    Parameters
    ----------
    frame
        The DataFrame the accessor is attached to.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._df = frame

    def _ip_column(self, column: str | None) -> str:
        if column is not None:
            if column not in self._df.columns:
                raise ConfigError(f"df.attrib: no column {column!r} (columns: "
                                  f"{', '.join(map(str, self._df.columns[:12]))})")  # fmt: skip
            return column
        for c in IP_COLUMNS:
            if c in self._df.columns:
                return c
        raise ConfigError(
            "df.attrib: no address column found; name it with column= "
            f"(looked for {', '.join(IP_COLUMNS)})"
        )

    def enrich(
        self, column: str | None = None, *, geoip_dir: str | None = None, prefix: str = ""
    ) -> pd.DataFrame:
        """Add ASN, AS organisation, network type, geo and tags for an address column.

        Parameters
        ----------
        column
            The address column; default: the first of :data:`IP_COLUMNS` present.
        geoip_dir
            A folder of MaxMind-format ``.mmdb`` files used on top of the bundled data.
        prefix
            Prepended to the new column names (e.g. ``"src_"``).

        Returns
        -------
        pandas.DataFrame
            A new frame: the original columns plus :data:`attrib.schema.ENRICH_COLUMNS` and
            ``ip_error`` (why an address could not be used, else null).
        """
        from attrib.enrich import default_enricher
        from attrib.schema import ENRICH_COLUMNS

        col = self._ip_column(column)
        found = default_enricher(geoip_dir).lookup(self._df[col])
        add = found[[*ENRICH_COLUMNS, "ip_error"]].set_axis(self._df.index)
        add.columns = [f"{prefix}{c}" for c in add.columns]
        clash = [c for c in add.columns if c in self._df.columns]
        base = self._df.drop(columns=clash)
        return pd.concat([base, add], axis=1)

    def to_ecs(self) -> pd.DataFrame:
        """Rename canonical columns to Elastic ECS fields (see :func:`attrib.schema.to_ecs`).

        Returns
        -------
        pandas.DataFrame
            A new frame.
        """
        from attrib.schema import to_ecs

        return to_ecs(self._df)

    def analyze(self, **kwargs: Any) -> Any:
        """Run :func:`attrib.analyze` on this frame of canonical events.

        Parameters
        ----------
        **kwargs
            Passed to :func:`attrib.analyze` (``context``, ``model``, ``store``, ...).

        Returns
        -------
        attrib.analysis.Analysis
            The result.
        """
        from attrib.pipeline import analyze

        missing = {"ts", "src_ip"} - set(self._df.columns)
        if missing:
            need = ", ".join(sorted(missing))
            raise ConfigError(
                f"df.attrib.analyze: not an events table (missing {need}); use attrib.read"
            )
        return analyze(self._df, **kwargs)


def _register() -> None:
    if "attrib" in getattr(pd.DataFrame, "_accessors", set()):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pd.api.extensions.register_dataframe_accessor("attrib")(AttribAccessor)


_register()
