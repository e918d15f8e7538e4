import pandas as pd
import pytest

from attrib._atomic import atomic_path, write_table
from attrib.errors import OutputError


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("ext", [".csv", ".parquet", ".json", ".ndjson"])
def test_write_table_roundtrip(tmp_path, ext):
    df = pd.DataFrame({"a": [1, 2]})
    p = write_table(df, tmp_path / f"t{ext}")
    assert p.exists() and p.stat().st_size > 0
    assert [x.name for x in tmp_path.iterdir()] == [f"t{ext}"]


def test_unwritable_dir_is_output_error(tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o500)
    try:
        import os

        if os.geteuid() == 0:
            pytest.skip("root ignores directory permissions")
        with pytest.raises(OutputError, match="permission denied"):
            write_table(pd.DataFrame({"a": [1]}), d / "x.csv")
    finally:
        d.chmod(0o700)
