import bz2
import gzip

import pytest
import zstandard

from attrib.errors import UnreadableFileError
from attrib.io import expand_paths, open_source

PAYLOAD = b"#separator \\x09\nhello\n"


@pytest.mark.parametrize(
    "name,compress",
    [
        ("plain.log", lambda b: b),
        ("a.log.gz", gzip.compress),
        ("a.log.bz2", bz2.compress),
        ("a.log.zst", lambda b: zstandard.ZstdCompressor().compress(b)),
        ("misnamed.txt", gzip.compress),  # compression sniffed from magic, not name
    ],
)
def test_open_decompresses_by_magic(tmp_path, name, compress):
    p = tmp_path / name
    p.write_bytes(compress(PAYLOAD))
    src = open_source(p)
    with src.open() as fh:
        assert fh.read() == PAYLOAD
    assert src.head(9) == PAYLOAD[:9]


def test_corrupt_gzip_is_unreadable(tmp_path):
    p = tmp_path / "x.gz"
    p.write_bytes(b"\x1f\x8b\x08garbage-garbage")
    with pytest.raises(UnreadableFileError, match="cannot decompress"):
        open_source(p).head()


def test_expand_folders_globs_and_dedup(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    for rel in ["d/a.log", "d/sub/b.log", "d/.hidden", "c.log"]:
        (tmp_path / rel).write_text("x")
    got = list(expand_paths([tmp_path / "d", str(tmp_path / "*.log"), tmp_path / "c.log"]))
    names = [p.name for p in got]
    assert names == ["a.log", "b.log", "c.log"]


def test_missing_input_is_clear(tmp_path):
    with pytest.raises(UnreadableFileError, match="no such file"):
        list(expand_paths([tmp_path / "nope.log"]))


def test_side_files_beside_logs_are_passed_over_not_unreadable(tmp_path):
    from attrib.io import ReadReport, iter_read

    d = tmp_path / "case"
    d.mkdir()
    for name in [
        "org.toml",
        "truth.json",
        "truth.parquet",
        "truth_chains.parquet",
        "README.md",
        "extra.txt",
    ]:
        (d / name).write_text("not a log\n")
    rep = ReadReport()
    assert list(iter_read([d], report=rep)) == []
    side = sorted(p.split("/")[-1] for p in rep.side)
    assert side == ["README.md", "org.toml", "truth.json", "truth.parquet", "truth_chains.parquet"]
    assert [p.split("/")[-1] for p, _ in rep.failed] == ["extra.txt"]  # still an unreadable log
    assert rep.as_dict()["side_files"] == rep.side


def test_side_file_named_explicitly_is_still_read(tmp_path):
    from attrib.io._source import expand_inputs

    p = tmp_path / "org.toml"
    p.write_text("x")
    assert list(expand_inputs([p])) == [(p, True)]
