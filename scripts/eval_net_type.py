#!/usr/bin/env python
"""Held-out evaluation of attrib's network-type classifier (writes the table in docs/).

Labelled networks (ASNs) come only from evidence we may redistribute:

* hosting — ASN in the X4BNet datacenter list or brianhama/bad-asn-list (not a known CDN);
* cdn — :data:`attrib.enrich.nettype.CDN_ASNS`;
* education / government / mobile / residential / business — curated *seed* terms in the AS
  organisation name (:data:`SEEDS`), unambiguous ones only (exactly one class matches).

A random 30 % of the labelled ASNs (seeded) is held out. On the held-out part the classifier
runs with (1) the ASN's list membership hidden and (2) the seed terms blanked out of the
organisation name, so it must rely on the *other* evidence (remaining name terms, the shape of
the address space, published cloud/datacenter range coverage). Per-class precision/recall is
printed as a Markdown table.

    python scripts/eval_net_type.py [--seed 0] [--holdout 0.3]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from attrib.enrich.nettype import CDN_ASNS, classify_asns  # noqa: E402

SEEDS: dict[str, str] = {
    "education": r"universit\w*|college|academy",
    "government": r"ministry|government",
    "mobile": r"mobile|wireless|cellular",
    "residential": r"broadband|cable|\bdsl\b",
    "business": r"\bbank\b|insurance",
}


def labels(f: pd.DataFrame) -> pd.Series:
    org = f["org"].fillna("").astype(str)
    lab = pd.Series(pd.NA, index=f.index, dtype="object")
    hits = pd.DataFrame(
        {k: org.str.contains(v, flags=re.IGNORECASE, regex=True) for k, v in SEEDS.items()}
    )
    one = hits.sum(axis=1) == 1
    lab[one] = hits[one].idxmax(axis=1)
    lab[(f["in_datacenter_list"] | f["in_bad_asn_list"]) & ~f["in_vpn_list"]] = "hosting"
    lab[f["asn"].isin(CDN_ASNS)] = "cdn"
    return lab


def table(y: pd.Series, p: pd.Series) -> pd.DataFrame:
    rows = []
    for c in sorted(y.unique()):
        tp = int(((p == c) & (y == c)).sum())
        n_pred = int((p == c).sum())
        n_true = int((y == c).sum())
        rows.append(
            {
                "class": c,
                "held-out ASNs": n_true,
                "precision": tp / n_pred if n_pred else float("nan"),
                "recall": tp / n_true if n_true else float("nan"),
                "predicted unknown": int(((p == "unknown") & (y == c)).sum()),
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--holdout", type=float, default=0.3)
    ap.add_argument("--data", type=Path, default=ROOT / "data")
    args = ap.parse_args(argv)
    f = pd.read_parquet(args.data / "enrich" / "asn_features.parquet")
    y = labels(f)
    lab = f[y.notna()].copy()
    lab["label"] = y[y.notna()]
    rng = np.random.default_rng(args.seed)
    held = lab[rng.random(len(lab)) < args.holdout].copy()
    masked = held.copy()
    pat = re.compile("|".join(SEEDS.values()), re.IGNORECASE)
    masked["org"] = masked["org"].fillna("").map(lambda s: pat.sub(" ", s))
    as_shipped = classify_asns(held, exclude_lists_for=held["asn"])
    blind = classify_asns(masked, exclude_lists_for=held["asn"])
    yt = held["label"].reset_index(drop=True)
    print(
        f"labelled ASNs: {len(lab)} ({lab['label'].value_counts().to_dict()}); "
        f"held out: {len(held)}\n"
    )
    for title, pred in (
        ("lists hidden, seed terms visible", as_shipped),
        ("lists hidden and seed terms blanked", blind),
    ):
        t = table(yt, pred["net_type"].reset_index(drop=True))
        acc = float((pred["net_type"].reset_index(drop=True) == yt).mean())
        print(f"### Held-out, {title} (accuracy {acc:.3f})\n")
        print("| " + " | ".join(t.columns) + " |")
        print("|" + "---|" * len(t.columns))
        for r in t.itertuples(index=False):
            cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in r]
            print("| " + " | ".join(cells) + " |")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
