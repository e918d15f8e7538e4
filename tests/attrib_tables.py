"""Hand-built origins / clusters tables of the contract's shape, for store and report tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from attrib.schema import CLUSTER_COLUMNS, ORIGIN_CORE_COLUMNS


def make_origins(n_cluster: int = 6, n_other: int = 4, day0: str = "2026-03-02") -> pd.DataFrame:
    """An ORB cluster of rotating residential exits plus a few benign origins."""
    t0 = pd.Timestamp(day0, tz="UTC")
    rows = []
    for i in range(n_cluster):
        start = t0 + pd.Timedelta(hours=20 * i)
        rows.append(
            {
                "ip": f"198.51.100.{10 + i}",
                "score": 0.97 - 0.02 * i,
                "cluster": "C1",
                "asn": 64500 + i % 3,
                "as_org": ["ExampleNet Broadband", "Telco DSL", "HomeFiber"][i % 3],
                "net_type": "residential",
                "net_type_confidence": 0.8,
                "country": ["US", "VN", "TW"][i % 3],
                "city": None,
                "lat": [37.7, 21.0, 25.0][i % 3],
                "lon": [-122.4, 105.8, 121.5][i % 3],
                "tags": "",
                "first_seen": start,
                "last_seen": start + pd.Timedelta(hours=30),
                "reasons": "short-lived exit (30 h); residential ISP far from home country; "
                f"hands off to 198.51.100.{11 + i}",
                "f_lifetime_h": 30.0,
                "f_targets": 3.0,
            }
        )
    rows.append(
        {
            "ip": "203.0.113.77",
            "score": 0.81,
            "cluster": "C2",
            "asn": 64999,
            "as_org": "VPS Host <b>Ltd</b>",
            "net_type": "hosting",
            "net_type_confidence": 0.95,
            "country": "NL",
            "city": "Amsterdam",
            "lat": 52.37,
            "lon": 4.9,
            "tags": "cloud",
            "first_seen": t0,
            "last_seen": t0 + pd.Timedelta(days=2),
            "reasons": "rented VPS; password spray across 40 accounts",
            "f_lifetime_h": 48.0,
            "f_targets": 40.0,
        }
    )
    rows.append(
        {
            "ip": "203.0.113.78",
            "score": 0.74,
            "cluster": "C2",
            "asn": 64999,
            "as_org": "VPS Host <b>Ltd</b>",
            "net_type": "hosting",
            "net_type_confidence": 0.95,
            "country": "NL",
            "city": "Amsterdam",
            "lat": 52.37,
            "lon": 4.9,
            "tags": "cloud",
            "first_seen": t0 + pd.Timedelta(days=1),
            "last_seen": t0 + pd.Timedelta(days=3),
            "reasons": "rented VPS; same JA4 as 203.0.113.77",
            "f_lifetime_h": 48.0,
            "f_targets": 12.0,
        }
    )
    for j in range(n_other):
        rows.append(
            {
                "ip": f"192.0.2.{50 + j}",
                "score": 0.05 + 0.01 * j,
                "cluster": pd.NA,
                "asn": 64600,
                "as_org": "Office ISP",
                "net_type": "business",
                "net_type_confidence": 0.6,
                "country": "DE",
                "city": "Berlin",
                "lat": 52.52,
                "lon": 13.4,
                "tags": "",
                "first_seen": t0,
                "last_seen": t0 + pd.Timedelta(days=6),
                "reasons": "long-lived; home country; office hours",
                "f_lifetime_h": 144.0,
                "f_targets": 1.0,
            }
        )
    df = pd.DataFrame(rows)
    df["rank"] = df["score"].rank(ascending=False, method="first").astype("Int64")
    df = df.sort_values("rank").reset_index(drop=True)
    df["cluster"] = df["cluster"].astype("string")
    df["asn"] = df["asn"].astype("Int64")
    df["net_type"] = df["net_type"].astype("category")
    cols = [c for c in ORIGIN_CORE_COLUMNS] + ["f_lifetime_h", "f_targets"]
    return df[cols]


def make_clusters(origins: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for cid, g in origins.dropna(subset=["cluster"]).groupby("cluster"):
        rows.append(
            {
                "cluster": cid,
                "size": len(g),
                "members": ",".join(g["ip"]),
                "first_seen": g["first_seen"].min(),
                "last_seen": g["last_seen"].max(),
                "shared_traits": "residential exits; same JA4"
                if cid == "C1"
                else "same hosting ASN",
                "asns": ",".join(str(a) for a in sorted(g["asn"].unique())),
                "countries": ",".join(sorted(g["country"].unique())),
                "net_types": ",".join(sorted(g["net_type"].astype(str).unique())),
                "infrastructure": True,
                "score": float(g["score"].max()),
            }
        )
    return pd.DataFrame(rows, columns=list(CLUSTER_COLUMNS))


def make_days(origins: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for ip, a, b in zip(origins["ip"], origins["first_seen"], origins["last_seen"], strict=True):
        for d in pd.date_range(a.floor("D"), b.floor("D"), freq="D"):
            rows.append({"ip": ip, "day": d, "events": 5})
    return pd.DataFrame(rows)


def demo_scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled demo scenario, or (when absent from the checkout) the same one simulated.

    ``attrib.simulate("demo", 7, ...)`` is what ``data/samples/demo`` is generated with; the
    simulated copy is made once per test session and shared by every test module.
    """
    bundled = Path(__file__).resolve().parents[1] / "data" / "samples" / "demo"
    if (bundled / "org.toml").exists():
        return bundled
    out = tmp_path_factory.getbasetemp() / "demo-scenario"
    if not (out / "org.toml").exists():
        from attrib.simulate import simulate

        simulate("demo", 7, out)
    return out
