"""Helpers: small hand-built canonical event tables."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from attrib.schema import conform_events


def make_events(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Canonical events from row dicts (unspecified columns are null)."""
    return conform_events(pd.DataFrame(rows))


def signin(ts: str, ip: str, user: str, outcome: str = "failure", **kw: Any) -> dict[str, Any]:
    """One Entra sign-in row."""
    return {"ts": ts, "src_ip": ip, "user": user, "outcome": outcome, "source": "entra", **kw}


def conn(ts: str, ip: str, dst: str = "192.0.2.10", port: int = 443, **kw: Any) -> dict[str, Any]:
    """One inbound Zeek connection row."""
    return {"ts": ts, "src_ip": ip, "dst_ip": dst, "dst_port": port, "proto": "tcp",
            "source": "zeek", **kw}  # fmt: skip


def by_ip(origins: pd.DataFrame) -> pd.DataFrame:
    """Origins indexed by address."""
    return origins.set_index(origins["ip"].astype(str))


@pytest.fixture
def enrichment() -> pd.DataFrame:
    """Hand-made enrichment rows for the addresses the tests use."""
    return pd.DataFrame({
        "ip": ["203.0.113.1", "203.0.113.2", "203.0.113.3", "198.51.100.9"],
        "asn": [64500, 64501, 64502, 64503],
        "country": ["NL", "US", "NL", "DE"],
        "lat": [52.37, 40.71, 52.37, 50.11],
        "lon": [4.90, -74.01, 4.90, 8.68],
        "net_type": ["residential", "hosting", "mobile", "business"],
        "net_type_confidence": [0.9, 0.8, 0.7, 0.6],
        "tags": [None, "cloud,vpn", "cgnat", "private_relay"],
    })  # fmt: skip
