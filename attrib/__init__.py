"""attrib: find the ephemeral proxy (ORB) networks espionage actors hide behind.

The public Python API. Heavy parts are imported on first use.

>>> import attrib
>>> events = attrib.read("data/samples/demo")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from attrib._version import __version__

#: public name -> "module:attribute"
_LAZY: dict[str, str] = {
    "read": "attrib.io:read",
    "iter_read": "attrib.io:iter_read",
    "ReadReport": "attrib.io:ReadReport",
    "AttribError": "attrib.errors:AttribError",
    "EVENT_DTYPES": "attrib.schema:EVENT_DTYPES",
    "to_ecs": "attrib.schema:to_ecs",
    "Enricher": "attrib.enrich:Enricher",
    "OriginScorer": "attrib.score:OriginScorer",
    "load_model": "attrib.score:load_model",
    "build_origins": "attrib.features:build_origins",
    "OriginClusterer": "attrib.cluster:OriginClusterer",
    "OriginAccumulator": "attrib.features:OriginAccumulator",
    "analyze": "attrib.pipeline:analyze",
    "Analysis": "attrib.analysis:Analysis",
    "SightingsStore": "attrib.store:SightingsStore",
}

__all__ = ["__version__", *sorted([*_LAZY, "enrich"])]

if TYPE_CHECKING:  # pragma: no cover
    from attrib.analysis import Analysis as Analysis
    from attrib.cluster import OriginClusterer as OriginClusterer
    from attrib.enrich import Enricher as Enricher
    from attrib.errors import AttribError as AttribError
    from attrib.features import OriginAccumulator as OriginAccumulator
    from attrib.features import build_origins as build_origins
    from attrib.io import ReadReport as ReadReport
    from attrib.io import iter_read as iter_read
    from attrib.io import read as read
    from attrib.pipeline import analyze as analyze
    from attrib.schema import EVENT_DTYPES as EVENT_DTYPES
    from attrib.schema import to_ecs as to_ecs
    from attrib.score import OriginScorer as OriginScorer
    from attrib.score import load_model as load_model
    from attrib.store import SightingsStore as SightingsStore


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'attrib' has no attribute {name!r}")
    mod, attr = target.split(":")
    value = getattr(importlib.import_module(mod), attr)
    globals()[name] = value
    _register_accessor()
    return value


# The stage package and this function share a name. Importing the (light) package first lets the
# import system bind ``attrib.enrich`` to it now; the ``def`` below then rebinds the name for good
# (``from attrib.enrich import Enricher`` still reaches the package through ``sys.modules``).
import attrib.enrich as _enrich_stage  # noqa: E402,F401


def enrich(
    ips_or_frame: Any,
    *,
    column: str | None = None,
    geoip_dir: Any = None,
    ecs: bool = True,
) -> Any:
    """Enrich addresses: a list/Series, or the address column of a DataFrame.

    See :func:`attrib.enrich.lookup.enrich` for the parameters and the columns returned.

    Examples
    --------
    >>> import attrib
    >>> attrib.enrich(["8.8.8.8"])  # doctest: +SKIP
    """
    from attrib.enrich.lookup import enrich as enrich_addresses

    out = enrich_addresses(ips_or_frame, column=column, geoip_dir=geoip_dir, ecs=ecs)
    _register_accessor()
    return out


def _register_accessor() -> None:
    """Register ``DataFrame.attrib`` once pandas is in use (it costs nothing more then)."""
    if "pandas" in sys.modules and "attrib.accessor" not in sys.modules:
        importlib.import_module("attrib.accessor")


_register_accessor()


def __dir__() -> list[str]:
    return sorted(__all__)
