"""The house rules of ARCHITECTURE.md, checked on the package as it is."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import attrib

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(attrib.__file__).parent
#: Files allowed past the size limit: the generator and the compiled pcap kernels.
_LARGE_OK = ("simulate/", "io/pcap/_fast")


def _checker():
    spec = importlib.util.spec_from_file_location(
        "check_imports", ROOT / "scripts" / "check_imports.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["check_imports"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_imports_point_down_without_circles_or_private_reach():
    ci = _checker()
    assert ci.violations() == []


def test_checker_catches_an_upward_import_a_circle_and_a_private_reach():
    ci = _checker()
    g = {"attrib.io.zeek": {"attrib.score.scorer"}, "attrib.score.scorer": {"attrib.io.zeek"},
         "attrib.cluster.clusterer": {"attrib.io._source"}}  # fmt: skip
    assert ci.rank("attrib.score.scorer") > ci.rank("attrib.io.zeek")
    assert ci.cycles(g) == [["attrib.io.zeek", "attrib.score.scorer"]]
    assert ci._private_of_other_folder("attrib.cluster.clusterer", "attrib.io._source")
    assert not ci._private_of_other_folder("attrib.io.zeek", "attrib.io._source")


def test_every_module_has_a_rank():
    ci = _checker()
    for mod in ci.modules():
        if mod != ci.FRONT:
            ci.rank(mod)  # raises for a module outside the stage order


def test_top_level_is_small_and_files_stay_readable():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 12, top
    long = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith(_LARGE_OK):
            continue
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > 600:
            long.append(f"{rel} ({n} lines)")
    assert not long, long


def test_every_shipped_model_is_pinned_inside_the_package():
    import hashlib

    from attrib._modelfile import SHIPPED_SHA256
    from attrib._paths import default_models_dir

    shipped = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
               for p in default_models_dir().glob("attrib-*.json")
               if not p.name.endswith(".metrics.json")}  # fmt: skip
    assert shipped and shipped == SHIPPED_SHA256
