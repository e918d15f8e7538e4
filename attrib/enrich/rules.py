"""The precedence rules of enrichment, written once for the bulk and the single-address paths.

Both :meth:`attrib.enrich.Enricher.lookup` (vectorised, many addresses) and
:func:`attrib.enrich.single.lookup_one` (one address, no pandas) gather the same facts about an
address (bundled ASN/geo/tags, then the user's ``.mmdb`` fields, first file wins) and then ask
this module two questions:

- :func:`user_value`: what a user-database field's raw value means (ASN, coordinates, tags);
- :func:`address_verdict`: whether per-address evidence overrides the ASN-level network type
  (special-use space, the user's Connection-Type or Anonymous-IP database, published cloud
  ranges, datacenter lists), and with what confidence and evidence.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from attrib.enrich.tags import SPECIAL_RANGES

__all__ = [
    "ANON_TAGS",
    "CONN_TYPES",
    "NO_NET_TYPE_TAGS",
    "SPECIAL_TAGS",
    "Verdict",
    "address_verdict",
    "routable_tags",
    "user_value",
]

#: GeoIP2 Connection-Type values -> (network type, confidence).
CONN_TYPES: dict[str, tuple[str, float]] = {
    "cable/dsl": ("residential", 0.85),
    "cellular": ("mobile", 0.9),
    "corporate": ("business", 0.7),
    "satellite": ("residential", 0.6),
    "dialup": ("residential", 0.6),
}
#: GeoIP2 Anonymous-IP flags -> attrib tags.
ANON_TAGS: dict[str, str] = {
    "is_anonymous_vpn": "vpn",
    "is_tor_exit_node": "tor_exit",
    "is_public_proxy": "public_proxy",
    "is_residential_proxy": "residential_proxy",
    "is_hosting_provider": "datacenter",
}
#: Tags of special-use address space (private, CGNAT, documentation, ...).
SPECIAL_TAGS = frozenset(t for _, t in SPECIAL_RANGES)
#: Special-use tags that mean the address has no network owner to type.
NO_NET_TYPE_TAGS = (
    "private",
    "cgnat",
    "loopback",
    "link_local",
    "documentation",
    "multicast",
    "bogon",
)


def user_value(field: str, value: Any) -> Any:
    """A user-database field's raw value in the form the enrichment columns hold.

    Parameters
    ----------
    field
        The field name of :func:`attrib.enrich._mmdb.compile_mmdb`'s records.
    value
        Its value for one address (``None`` when the database has none).

    Returns
    -------
    object
        ``asn``: int (-1 for none); ``lat``/``lon``: float (NaN for none); others unchanged.
    """
    if field == "asn":
        return -1 if value is None else int(value)
    if field in ("lat", "lon"):
        return math.nan if value is None else float(value)
    return value


@dataclass(frozen=True, slots=True)
class Verdict:
    """A per-address override of the network type.

    ``special`` means the address is special-use space: its owner fields are cleared and only
    its special-use tags kept (:func:`routable_tags`).
    """

    net_type: str
    confidence: float
    evidence: str
    special: bool = False


def routable_tags(tags: Iterable[str]) -> set[str]:
    """The tags kept for a special-use address (list snapshots sometimes carry such space)."""
    return {t for t in tags if t in SPECIAL_TAGS}


def address_verdict(
    tags: set[str], connection_type: Any, hosting_flag: bool, net_type: str, confidence: float
) -> Verdict | None:
    """Per-address evidence over the ASN-level network type, in precedence order.

    Parameters
    ----------
    tags
        The address's tags so far (bundle lists, user Anonymous-IP flags, special ranges).
    connection_type
        The user Connection-Type database's value, or None.
    hosting_flag
        The user Anonymous-IP database's ``is_hosting_provider``.
    net_type, confidence
        The ASN-level answer (``"unknown"``, 0.0 when there is none).

    Returns
    -------
    Verdict or None
        The override, or None when the ASN-level answer stands.
    """
    special = [t for t in NO_NET_TYPE_TAGS if t in tags]
    if special:
        return Verdict("unknown", 0.0, f"special-use address ({special[0]})", special=True)
    if connection_type is not None and str(connection_type).lower() in CONN_TYPES:
        ty, conf = CONN_TYPES[str(connection_type).lower()]
        return Verdict(ty, conf, f"user Connection-Type database says {connection_type!r}")
    if hosting_flag:
        return Verdict("hosting", 0.9, "user Anonymous-IP database: is_hosting_provider")
    if net_type in ("hosting", "cdn"):
        return None
    prev = f"; ASN says {net_type}" if net_type != "unknown" else ""
    clouds = sorted(t.split(":", 1)[1] for t in tags if t.startswith("cloud:"))
    if clouds:
        return Verdict("hosting", 0.9, f"address in published {clouds[0]} cloud ranges{prev}")
    if "datacenter" in tags and (confidence < 0.7 or net_type in ("unknown", "business")):
        return Verdict("hosting", 0.7, f"address in datacenter range list{prev}")
    return None
