"""Ground truth of a scenario: every origin address with its label, and the relay chains."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from attrib.schema import TRUTH_CHAIN_COLUMNS, TRUTH_COLUMNS

__all__ = ["CHAIN_COLUMNS", "TRUTH_COLUMNS", "build_truth", "write_chains", "write_truth"]

CHAIN_COLUMNS = TRUTH_CHAIN_COLUMNS  # the name this module has always exported


def _ts(s: pd.Series) -> pd.Series:
    return pd.to_datetime(pd.to_numeric(s), unit="s", utc=True).dt.floor("us")


def build_truth(frames: list[pd.DataFrame], addresses: pd.DataFrame) -> pd.DataFrame:
    """Combine per-population truth frames into one row per origin address.

    Parameters
    ----------
    frames
        Frames with at least ``ip``, ``label``, ``kind``, ``campaign``, ``role``,
        ``first_active``, ``last_active`` (epoch seconds).
    addresses
        Enrichment of every address (indexed by ``ip``).

    Returns
    -------
    pandas.DataFrame
        :data:`TRUTH_COLUMNS`, sorted by label and address.
    """
    df = pd.concat([f for f in frames if len(f)], ignore_index=True)
    df = df.dropna(subset=["ip"])
    agg = (
        df.groupby("ip", sort=False)
        .agg(
            label=("label", "first"),
            kind=("kind", "first"),
            campaign=("campaign", "first"),
            role=("role", "first"),
            first_active=("first_active", "min"),
            last_active=("last_active", "max"),
            lifetime_days=("lifetime_days", "first") if "lifetime_days" in df else ("kind", "size"),
            users=("users", "max") if "users" in df else ("kind", "size"),
        )
        .reset_index()
    )
    if "lifetime_days" not in df:
        agg["lifetime_days"] = float("nan")
    enr = addresses[~addresses.index.duplicated()]
    for c in ("asn", "as_org", "country", "net_type"):
        agg[c] = agg["ip"].map(enr[c]) if c in enr else pd.NA
    agg["first_active"] = _ts(agg["first_active"])
    agg["last_active"] = _ts(agg["last_active"])
    agg["asn"] = pd.to_numeric(agg["asn"], errors="coerce").astype("Int64")
    agg["users"] = pd.to_numeric(agg["users"], errors="coerce").astype("Int64")
    agg["lifetime_days"] = pd.to_numeric(agg["lifetime_days"], errors="coerce").astype("float64")
    for c in ("label", "kind", "campaign", "role", "as_org", "country", "net_type", "ip"):
        agg[c] = agg[c].astype("string")
    return agg.loc[:, list(TRUTH_COLUMNS)].sort_values(["label", "ip"]).reset_index(drop=True)


def write_truth(truth: pd.DataFrame, out: Path, meta: dict[str, Any]) -> None:
    """Write ``truth.parquet`` and ``truth.json`` (metadata + the same rows).

    Parameters
    ----------
    truth
        Output of :func:`build_truth`.
    out
        Scenario folder.
    meta
        Scenario description (preset, seed, parameters, counts).
    """
    truth.to_parquet(out / "truth.parquet", index=False)
    rows = truth.assign(
        first_active=truth["first_active"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        last_active=truth["last_active"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    )
    head = json.dumps(meta, indent=1)
    # the records as pandas writes them, one per line, never as Python objects (bounded memory)
    records = rows.to_json(orient="records", lines=True)
    with (out / "truth.json").open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(head[:-2] + ',\n "origins": [\n')
        fh.write(",\n".join(records.splitlines()))
        fh.write("\n ]\n}\n")


def write_chains(chains: list[pd.DataFrame], out: Path) -> int:
    """Write ``truth_chains.parquet``.

    Parameters
    ----------
    chains
        Frames with :data:`CHAIN_COLUMNS`.
    out
        Scenario folder.

    Returns
    -------
    int
        Rows written.
    """
    df = (
        pd.concat(chains, ignore_index=True)
        if chains
        else pd.DataFrame(columns=list(CHAIN_COLUMNS))
    )
    df = df.loc[:, list(CHAIN_COLUMNS)]
    df["ts"] = _ts(df["ts"]) if len(df) else pd.Series([], dtype="datetime64[us, UTC]")
    for c in ("campaign", "in_src", "relay", "out_dst", "channel", "in_uid", "out_uid"):
        df[c] = df[c].astype("string")
    df["attempt"] = df["attempt"].astype("int64")
    df["hop"] = df["hop"].astype("int64")
    df["lag_s"] = df["lag_s"].astype("float64")
    df["rtt_ms"] = df["rtt_ms"].astype("float64")
    df.to_parquet(out / "truth_chains.parquet", index=False)
    return len(df)
