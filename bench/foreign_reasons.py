"""Top-k reasons on labelled scenarios of another generator: evidence, never absences.

For each scenario folder under ``--foreign`` (as ``attrib evaluate --foreign`` reads them), the
cached feature table of ``attrib evaluate --foreign --workdir W`` is scored with ``--model``;
then, for the top k origins (k = adversary origins in the answer key, read here only), every
reason in ``reasons_json`` is checked: its feature must not be one of the organisation's-habit
or breadth features (``NOT_REASONS``) and its value must name something present (not 0 or
unknown, except for features where a low value is the evidence). Prints, per scenario, the
reasons that occur most in the top k and the number of violations.

    .venv/bin/python bench/foreign_reasons.py --foreign ../shared/data/foreign \\
        --workdir ~/.cache/attrib/scenarios/foreign
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from pathlib import Path

import pandas as pd

from attrib.pipeline.foreign import find_scenarios, load_labels
from attrib.score import load_model
from attrib.score._explain import LOW_IS_EVIDENCE, NOT_REASONS
from attrib.score.training import pipeline_key


def _violations(items: list[dict[str, object]]) -> list[str]:
    bad = []
    for it in items:
        if it.get("direction") == "against":
            continue
        f, v = str(it["feature"]), float(it["value"])  # type: ignore[arg-type]
        absent = math.isnan(v) or (v == 0.0 and f not in LOW_IS_EVIDENCE)
        if f in NOT_REASONS or absent:
            bad.append(f"{f}={v}")
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--foreign", required=True)
    ap.add_argument("--workdir", required=True, help="the --workdir/foreign of attrib evaluate")
    ap.add_argument("--model", default=None)
    a = ap.parse_args()
    model = load_model(a.model) if a.model else load_model()
    for folder in find_scenarios(a.foreign):
        cache = Path(a.workdir) / f"{folder.name}-origins-{pipeline_key()}.parquet"
        origins = pd.read_parquet(cache)
        scored = model.score_origins(origins).sort_values("rank")
        adv, _ = load_labels(folder)
        top = scored.head(len(adv))
        seen: Counter[str] = Counter()
        bad: list[str] = []
        for text in top["reasons_json"]:
            items = json.loads(text) if isinstance(text, str) and text else []
            seen.update(str(it["feature"]) for it in items if it.get("direction") != "against")
            bad += _violations(items)
        print(f"{folder.name}: top {len(top)}, reasons {sum(seen.values())}, "
              f"absences or habits among them: {len(bad)}")  # fmt: skip
        print("  most frequent:", ", ".join(f"{f} {n}" for f, n in seen.most_common(6)))
        if bad:
            print("  e.g.", ", ".join(bad[:5]))


if __name__ == "__main__":
    main()
