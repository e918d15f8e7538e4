"""The indexed streamed uid join gives what join_by_uid gives on the whole table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attrib.io import _uidjoin
from attrib.io._uidjoin import HeldAppRows, uid_hash
from attrib.io.zeek import JOIN_COLUMNS, join_by_uid, stream_join
from attrib.schema import conform_events


def _frames(seed: int, n_conn: int = 300, n_app: int = 400) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    pool = [f"C{i:x}" for i in range(n_conn + 100)] + ["C" + "x" * 80]
    conn = pd.DataFrame({
        "ts": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(np.arange(n_conn), "s"),
        "src_ip": "203.0.113.7", "dst_ip": "198.51.100.1", "source": "zeek",
        "event_type": "conn", "uid": rng.choice(pool, n_conn),
    })  # fmt: skip
    conn.loc[rng.random(n_conn) < 0.1, "uid"] = None
    conn.loc[rng.random(n_conn) < 0.2, "tls_sni"] = "own.example"
    app = pd.DataFrame({
        "ts": pd.Timestamp("2026-01-01", tz="UTC"), "src_ip": "203.0.113.7",
        "dst_ip": "198.51.100.1", "source": "zeek",
        "event_type": rng.choice(["ssl", "http"], n_app), "uid": rng.choice(pool, n_app),
        "tls_sni": rng.choice(["a.example", "b.example", None], n_app),
        "ja4": rng.choice(["t13d1516h2_x", None], n_app),
        "user_agent": rng.choice(["curl/8", None], n_app),
    })  # fmt: skip
    app.loc[rng.random(n_app) < 0.05, "uid"] = None
    return conform_events(conn), conform_events(app)


def _canon(df: pd.DataFrame) -> pd.DataFrame:
    cols = ["event_type", "uid", *JOIN_COLUMNS]
    key = df[cols].astype("string").fillna("<NA>")
    return key.sort_values(cols, kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stream_join_equals_whole_table_join(seed: int) -> None:
    conn, app = _frames(seed)
    whole = join_by_uid(pd.concat([conn, app], ignore_index=True))
    chunks = [conn.iloc[i : i + 70] for i in range(0, len(conn), 70)]
    streamed = pd.concat(list(stream_join([app], chunks)), ignore_index=True)
    pd.testing.assert_frame_equal(_canon(streamed), _canon(whole))


def test_hash_collisions_fall_back_to_text(monkeypatch: pytest.MonkeyPatch) -> None:
    conn, app = _frames(5)
    whole = join_by_uid(pd.concat([conn, app], ignore_index=True))
    monkeypatch.setattr(_uidjoin, "uid_hash", lambda s: np.zeros(len(s), dtype=np.uint64))
    streamed = pd.concat(list(stream_join([app], [conn])), ignore_index=True)
    pd.testing.assert_frame_equal(_canon(streamed), _canon(whole))


def test_uid_hash_distinguishes_lengths_and_bytes() -> None:
    s = pd.Series(["C1", "C1\x00", "C10", "Cé", "C" * 70, "C" * 70], dtype="string")
    h = uid_hash(s)
    assert len(set(h[:5].tolist())) == 5
    assert h[4] == h[5]


def test_uid_hash_of_a_value_does_not_depend_on_its_batch() -> None:
    # regression: shorter uids took extra mixing rounds in a batch with longer ones, so a conn
    # chunk and the held rows (different longest uid) hashed the same uid differently
    batch = pd.Series(["C1a", "XC1a-longer", "C2"], dtype="string")
    alone = [uid_hash(batch.iloc[[i]])[0] for i in range(3)]
    assert uid_hash(batch).tolist() == alone


def test_lookup_confirms_text_not_only_hash() -> None:
    app = conform_events(pd.DataFrame({"uid": ["Ca", "Cb"], "source": "zeek",
                                       "event_type": "ssl", "tls_sni": ["a", "b"]}))  # fmt: skip
    held = HeldAppRows(app, ["tls_sni"])
    held._keys = np.zeros_like(held._keys)  # every probe now meets an equal hash
    got = held.lookup(pd.Series(["Cz"], dtype="string"))
    assert got.tolist() == [-1]
