import pandas as pd
import pytest

from attrib import schema


def test_empty_events_has_canonical_dtypes():
    df = schema.empty_events()
    assert list(df.columns) == list(schema.EVENT_COLUMNS)
    assert str(df["src_port"].dtype) == "UInt16"
    assert str(df["ts"].dtype) == "datetime64[ns, UTC]"
    assert isinstance(df["proto"].dtype, pd.CategoricalDtype)


def test_conform_adds_nulls_and_casts():
    df = pd.DataFrame({"src_ip": ["1.2.3.4"], "src_port": [443], "ts": [1.5e9], "extra": [1]})
    df["ts"] = pd.to_datetime(df["ts"], unit="s", utc=True)
    out = schema.conform_events(df)
    assert list(out.columns) == list(schema.EVENT_COLUMNS)
    assert out.loc[0, "src_port"] == 443
    assert pd.isna(out.loc[0, "user"])  # missing -> null, never invented
    assert "extra" not in out.columns


def test_conform_rejects_out_of_range_port():
    with pytest.raises((TypeError, ValueError)):
        schema.conform_events(pd.DataFrame({"src_port": [70000]}))


def test_to_ecs_names_and_duration_ns():
    df = pd.DataFrame({"src_ip": ["1.2.3.4"], "duration": pd.array([1.5], dtype="Float64")})
    out = schema.to_ecs(df, schema.ECS_EVENT_FIELDS)
    assert list(out.columns) == ["source.ip", "event.duration"]
    assert out.loc[0, "event.duration"] == 1_500_000_000


# -- every column literal used in the package is declared -------------------------------------

#: Variables that hold one of the pipeline's tables in the stage modules.
_TABLE_NAMES = frozenset({"df", "events", "ev", "origins", "o", "frame", "chunk", "clusters",
                          "scored", "enrichment", "table"})  # fmt: skip
#: io/ maps each format's own field names to the schema in one place, simulate/ writes real
#: formats and api/ speaks JSON: their literals are other formats' names, not table columns.
_OUTSIDE = ("io", "simulate", "api")


def _column_literals():
    import ast
    from pathlib import Path

    import attrib as package

    root = Path(package.__file__).parent
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] in _OUTSIDE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Subscript):
                continue
            base = node.value
            if isinstance(base, ast.Attribute) and base.attr in ("loc", "at"):
                base = base.value
            if not (isinstance(base, ast.Name) and base.id in _TABLE_NAMES):
                continue
            sl = node.slice
            items = sl.elts if isinstance(sl, ast.Tuple) else [sl]
            for item in items:
                elts = item.elts if isinstance(item, ast.List) else [item]
                for e in elts:
                    if isinstance(e, ast.Constant) and isinstance(e.value, str):
                        yield e.value, f"{rel}:{e.lineno}"


def _declared():
    import attrib.schema as schema
    from attrib.features.columns import DESCRIPTIVE_COLUMNS, FEATURE_COLUMNS
    from attrib.score._context import CONTEXT_COLUMNS

    names: set[str] = set()
    for value in vars(schema).values():
        if isinstance(value, tuple | dict) and value and all(isinstance(k, str) for k in value):
            names.update(value)
    # the feature catalogues carry their descriptions (docs/features.md) beside the names
    return names | set(FEATURE_COLUMNS) | set(DESCRIPTIVE_COLUMNS) | set(CONTEXT_COLUMNS)


def test_every_column_literal_in_the_stages_is_declared():
    declared = _declared()
    found = list(_column_literals())
    assert len(found) > 100  # the walk sees the stages' table accesses
    undeclared = sorted({f"{name} ({where})" for name, where in found
                         if not name.startswith("_") and name not in declared})  # fmt: skip
    assert not undeclared, "column literals not declared in attrib.schema: " + ", ".join(undeclared)


def test_one_ip_column_list():
    from attrib.accessor import IP_COLUMNS

    assert IP_COLUMNS is schema.IP_COLUMNS
    assert {"src_ip", "ip", "ip_address", "address"} <= set(schema.IP_COLUMNS)
