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
