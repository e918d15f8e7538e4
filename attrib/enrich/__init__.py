"""Enrichment: ASN, network type, geolocation and tags for every address.

Offline by default from the bundled, redistributable data in ``data/`` (see
``docs/enrichment.md``); users' own MaxMind-format databases (GeoIP2/GeoLite2, DB-IP, IPinfo)
take precedence for the fields they carry. Lookups are vectorised: addresses are parsed once
per unique value and answered by ``numpy.searchsorted`` over compiled range indexes.

>>> import attrib
>>> attrib.enrich(["8.8.8.8"])  # doctest: +SKIP

The stage's names load on first use, so ``import attrib`` (which binds ``attrib.enrich`` to the
public function :func:`attrib.enrich.lookup.enrich`) stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "Enricher",
    "default_enricher",
    "enrich",
    "normalize_ips",
    "sample_ips",
    "verify_bundle",
]

#: public name -> the module that defines it
_LAZY: dict[str, str] = {
    "Enricher": "attrib.enrich.enricher",
    "default_enricher": "attrib.enrich.enricher",
    "enrich": "attrib.enrich.lookup",
    "normalize_ips": "attrib.enrich.normalize",
    "sample_ips": "attrib.enrich.sample",
    "verify_bundle": "attrib.enrich._bundle",
}

if TYPE_CHECKING:  # pragma: no cover
    from attrib.enrich._bundle import verify_bundle as verify_bundle
    from attrib.enrich.enricher import Enricher as Enricher
    from attrib.enrich.enricher import default_enricher as default_enricher
    from attrib.enrich.lookup import enrich as enrich
    from attrib.enrich.normalize import normalize_ips as normalize_ips
    from attrib.enrich.sample import sample_ips as sample_ips


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'attrib.enrich' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
