#!/usr/bin/env python
"""Train attrib's network-type model from the bundle and the list snapshots (offline).

Evidence is re-derived from ``data/enrich/*.parquet`` and the list snapshots; weak labels come
from the hosting lists, published ranges, the CDN list, narrow name seeds and the national
access-network shape (:mod:`attrib.enrich._nettype_train`). The hand-checked evaluation table
is never read here. Writes ``models/attrib-nettype-<version>.json`` and its ``.sha256``; apply
it with ``python scripts/build_data.py --net-types-only``.

    python scripts/train_net_type.py [--data data] [--netlists ../shared/data/netlists]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from attrib.enrich._nettype_features import evidence_from_bundle  # noqa: E402
from attrib.enrich._nettype_train import fit_model, weak_labels  # noqa: E402
from attrib.enrich.nettype import CDN_ASNS, MODEL_VERSION, model_path  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Train and save the model."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT / "data")
    ap.add_argument("--netlists", type=Path, default=ROOT.parent / "shared" / "data" / "netlists")
    ap.add_argument("--out", type=Path, default=model_path(ROOT / "models"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    ev = evidence_from_bundle(args.data, args.netlists)
    model = fit_model(ev, weak_labels(ev, CDN_ASNS), seed=args.seed)
    model.meta["version"] = MODEL_VERSION
    digest = model.save(args.out)
    print(f"wrote {args.out} (sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
