#!/usr/bin/env python
"""Evaluate attrib's network-type model (prints the Markdown tables of docs/net_type_eval.md).

Two evaluations, neither of which the shipped model was tuned on:

1. **Leave one source out.** For each hosting source (X4BNet datacenter ASN list, X4BNet VPN
   ASN list, bad-asn-list, published cloud ranges, X4BNet datacenter ranges) a model is trained
   *without* it — its evidence column hidden everywhere and its labels dropped — and tested on
   that source's ASNs (are they typed ``hosting``?) together with a fixed held-out 25 % of the
   seed-labelled access/institutional ASNs (are access answers right?).
2. **Hand-checked table** (``tests/data/net_type_handchecked.csv``): the *shipped* answers in
   ``data/enrich/asn_info.parquet`` against a cited, hand-checked type per ASN. An answer is right
   when it is one of the expected types (``residential|mobile`` accepts either).

    python scripts/eval_net_type.py [--data data] [--skip-loso]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from attrib.enrich._nettype_features import with_siblings  # noqa: E402
from attrib.enrich._nettype_train import (  # noqa: E402
    SOURCES,
    blind,
    fit_model,
    source_members,
    weak_labels,
)
from attrib.enrich.nettype import CDN_ASNS, classify_asns  # noqa: E402

ACCESS = ("residential", "business", "mobile")
HAND = ROOT / "tests" / "data" / "net_type_handchecked.csv"


def md(df: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (floats to 3 decimals)."""
    head = "| " + " | ".join(map(str, df.columns)) + " |\n|" + "---|" * len(df.columns) + "\n"
    body = "".join(
        "| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r) + " |\n"
        for r in df.itertuples(index=False)
    )
    return head + body


def loso(ev: pd.DataFrame, seed: int = 0, sources: list[str] | None = None) -> pd.DataFrame:
    """Leave-one-source-out table."""
    full = weak_labels(ev, CDN_ASNS)
    rng = np.random.default_rng(seed)
    seeded = full.notna().to_numpy() & (full != "hosting").to_numpy()
    test_access = seeded & (rng.random(len(ev)) < 0.25)
    rows = []
    for src, cols in SOURCES.items():
        if sources and src not in sources:
            continue
        members = source_members(ev, src) & ~ev["asn"].isin(CDN_ASNS).to_numpy()
        y = weak_labels(ev, CDN_ASNS, skip_sources=(src,))
        others = (y == "hosting").to_numpy()
        y[test_access] = pd.NA
        model = fit_model(ev, y, hide_always=cols, seed=seed)
        test = members | test_access
        # the source hidden everywhere, so the siblings' evidence does not carry it either
        hidden = with_siblings(blind(ev, cols, cut_seeds=False))[test]
        pred = pd.Series(classify_asns(hidden, model)["net_type"].to_numpy(), index=hidden.index)
        host = pred[members[test]].isin(["hosting", "cdn"])
        only = members & ~others
        truth = full[test].where(~pd.Series(members, index=ev.index)[test], "hosting")
        is_acc = pred.isin(ACCESS)
        rows.append({
            "held-out source": src,
            "its ASNs": int(members.sum()),
            "hosting recall": float(host.mean()) if len(host) else float("nan"),
            "only in it": int(only.sum()),
            "recall (only in it)": float(pred[only[test]].isin(["hosting", "cdn"]).mean())
            if only.any() else float("nan"),
            "access answers": int(is_acc.sum()),
            "access precision": float(truth[is_acc].isin(ACCESS).mean()),
            "held-out seed ASNs accuracy": float((pred[test_access[test]] ==
                                                  truth[test_access[test]]).mean()),
        })  # fmt: skip
    return pd.DataFrame(rows)


def hand(data: Path, ev: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """Hand-checked table: summary line and per-class precision/recall."""
    hc = pd.read_csv(HAND)
    info = pd.read_parquet(data / "enrich" / "asn_info.parquet")
    j = hc.merge(info[["asn", "net_type", "net_type_alt"]], on="asn", how="left")
    j["net_type"] = j["net_type"].fillna("unknown")
    exp = j["expected"].str.split("|")
    j["ok"] = [p in e for p, e in zip(j["net_type"], exp, strict=True)]
    alt = j["net_type_alt"].astype("string").fillna("")
    j["ok_alt"] = j["ok"].to_numpy() | np.array([a in e for a, e in zip(alt, exp, strict=True)])
    lab = weak_labels(ev, CDN_ASNS)
    in_lab = j["asn"].isin(ev.loc[lab.notna().to_numpy(), "asn"])
    line = (
        f"{len(j)} ASNs; accuracy **{j['ok'].mean():.3f}**, "
        f"`unknown` {(j['net_type'] == 'unknown').mean():.1%}; "
        f"right within the stated residential|mobile alternative {j['ok_alt'].mean():.3f}; "
        f"on the {int((~in_lab).sum())} ASNs that carry no weak training label "
        f"{j.loc[~in_lab, 'ok'].mean():.3f}"
    )
    rows = []
    first = exp.str[0]
    for c in sorted(set(sum(exp.tolist(), []))):
        want = exp.map(lambda e, c=c: c in e)
        got = j["net_type"] == c
        rows.append({
            "class": c,
            "expected (incl. alternatives)": int(want.sum()),
            "answered": int(got.sum()),
            "precision": float((got & want).sum() / got.sum()) if got.any() else float("nan"),
            "recall (first expected)": float(j.loc[first == c, "ok"].mean())
            if (first == c).any() else float("nan"),
        })  # fmt: skip
    return line, pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    """Print the evaluation tables."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT / "data")
    ap.add_argument("--skip-loso", action="store_true")
    ap.add_argument(
        "--source",
        action="append",
        choices=list(SOURCES),
        help="leave out only this source (repeatable; default: all)",
    )
    args = ap.parse_args(argv)
    ev = pd.read_parquet(args.data / "enrich" / "asn_features.parquet")
    line, per_class = hand(args.data, ev)
    print("### Hand-checked table (shipped answers)\n\n" + line + "\n\n" + md(per_class))
    if not args.skip_loso:
        print("### Leave one source out\n\n" + md(loso(ev, sources=args.source)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
