"""Compare two ``attrib analyze`` output folders, ignoring what differs between any two runs.

Run ids, wall-clock timestamps and STIX object ids (random UUIDs) are masked; everything else
(every origin, score, reason, cluster and STIX property) must be equal. Used to show that a
refactoring changed no behaviour::

    python scripts/compare_outputs.py OLD_OUT NEW_OUT

Exit 0 when equal, 1 with one line per differing file otherwise.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

FILES = ("origins.csv", "clusters.csv", "origins.ndjson", "stix.json")
_RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")
_UUID = re.compile(r"--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_VOLATILE = {"created", "modified", "id", "run_id", "created_by_ref"}


def _mask(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: "*" if k in _VOLATILE else _mask(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_mask(x) for x in v]
    if isinstance(v, str):
        return _UUID.sub("--*", _RUN_ID.sub("*", v))
    return v


def _load(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return _mask(json.loads(text))
    if path.suffix == ".ndjson":
        return [_mask(json.loads(line)) for line in text.splitlines() if line]
    return _RUN_ID.sub("*", text)


def compare(old: Path, new: Path) -> list[str]:
    """The files of ``FILES`` that differ between two output folders."""
    return [f for f in FILES if _load(old / f) != _load(new / f)]


def main(argv: list[str]) -> int:
    """Compare the folders named in ``argv``; print the differing files."""
    if len(argv) != 2:
        print("usage: compare_outputs.py OLD_OUT NEW_OUT", file=sys.stderr)
        return 2
    diff = compare(Path(argv[0]), Path(argv[1]))
    for f in diff:
        print(f"differs: {f}")
    print("identical" if not diff else f"{len(diff)} file(s) differ")
    return 1 if diff else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
