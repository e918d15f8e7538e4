"""The streamed Zeek uid join holds one time window of application rows, per folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from attrib.io import ReadReport, iter_read, read
from attrib.io._zeekjoin import JOIN_COLUMNS, JoinStats, join_by_uid, stream_join
from attrib.schema import conform_events

T0 = pd.Timestamp("2026-03-01", tz="UTC")


def _day(n: int = 2000, hours: float = 10.0, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Conn rows spread over ``hours`` (in end-time order, as Zeek writes them), ssl rows 1 s in."""
    rng = np.random.default_rng(seed)
    start = T0 + pd.to_timedelta(np.sort(rng.uniform(0, hours * 3600, n)), "s")
    dur = rng.uniform(0, 120, n)
    conn = pd.DataFrame({"ts": start, "duration": dur, "src_ip": "203.0.113.7",
                         "dst_ip": "198.51.100.1", "source": "zeek", "event_type": "conn",
                         "uid": [f"C{i:09d}" for i in range(n)]})  # fmt: skip
    end = conn["ts"] + pd.to_timedelta(conn["duration"], "s")
    conn = conn.iloc[np.argsort(end.to_numpy(), kind="stable")].reset_index(drop=True)
    app = pd.DataFrame({"ts": start + pd.Timedelta(seconds=1), "src_ip": "203.0.113.7",
                        "dst_ip": "198.51.100.1", "source": "zeek", "event_type": "ssl",
                        "uid": [f"C{i:09d}" for i in range(n)],
                        "tls_sni": [f"h{i % 7}.example" for i in range(n)]})  # fmt: skip
    return conform_events(conn), conform_events(app)


def _chunks(df: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    return [df.iloc[i : i + size] for i in range(0, len(df), size)]


def _canon(df: pd.DataFrame) -> pd.DataFrame:
    cols = ["event_type", "uid", *JOIN_COLUMNS]
    key = df[cols].astype("string").fillna("<NA>")
    return key.sort_values(cols, kind="stable").reset_index(drop=True)


def test_window_holds_a_fraction_and_joins_like_the_whole_table() -> None:
    conn, app = _day()
    stray = app.iloc[::100].assign(uid=lambda d: "X" + d["uid"])  # ssl rows without a conn row
    app = pd.concat([app, stray]).sort_values("ts", kind="stable").reset_index(drop=True)
    whole = join_by_uid(pd.concat([conn, app], ignore_index=True))
    st = JoinStats()
    got = pd.concat(list(stream_join(_chunks(app, 100), _chunks(conn, 100), stats=st)))
    pd.testing.assert_frame_equal(_canon(got), _canon(whole))
    assert st.app_rows == len(app) and st.merged == len(app) - len(stray)
    assert st.evicted_unmatched + st.unmatched_at_end == len(stray)
    assert st.evicted_unmatched > len(stray) // 2  # the early strays left during the stream
    assert st.held_peak < len(app) / 3  # ~1 h 10 min of 10 h held, in 100-row segments


def test_connection_outliving_the_window_is_evicted_and_counted() -> None:
    conn, app = _day(n=400, hours=6.0)
    long_ = pd.DataFrame({"ts": [T0], "duration": [4 * 3600.0], "src_ip": "203.0.113.9",
                          "source": "zeek", "event_type": "conn", "uid": ["Clong"]})  # fmt: skip
    end = conn["ts"] + pd.to_timedelta(conn["duration"].astype(float), "s")
    at = int((end < T0 + pd.Timedelta(hours=4)).sum())  # Zeek logs it when it ends
    conn = pd.concat([conn.iloc[:at], conform_events(long_), conn.iloc[at:]], ignore_index=True)
    ssl_long = conform_events(pd.DataFrame({"ts": [T0 + pd.Timedelta(seconds=1)], "uid": ["Clong"],
                                            "source": "zeek", "event_type": "ssl",
                                            "tls_sni": ["relay.example"]}))  # fmt: skip
    app = pd.concat([ssl_long, app], ignore_index=True)
    for window, joined in ((3600.0, False), (5 * 3600.0, True)):
        st = JoinStats(window_s=window)
        got = pd.concat(list(stream_join(_chunks(app, 50), _chunks(conn, 50), window_s=window,
                                         stats=st)))  # fmt: skip
        row = got[(got["uid"] == "Clong") & (got["event_type"] == "conn")]
        assert (row["tls_sni"].fillna("").iloc[0] == "relay.example") is joined
        assert st.evicted_unmatched == (0 if joined else 1)


def _tsv(path: Path, log: str, fields: list[str], rows: list[list[object]]) -> None:
    head = f"#separator \\x09\n#path\t{log}\n#fields\t" + "\t".join(fields) + "\n"
    path.write_text(head + "".join("\t".join(map(str, r)) + "\n" for r in rows))


def test_join_is_scoped_per_folder_and_reported(tmp_path: Path) -> None:
    # two sensors over the same hours: a global time window would evict sensor b's ssl rows
    # while sensor a's conn log runs ahead of them
    t = 1772323200.0
    for s, d in enumerate(("a", "b")):
        (tmp_path / d).mkdir()
        conn = [[t + i * 60, f"C{d}{i}", f"81.2.{s}.{i % 200}", 40000, "185.232.2.11", 443, "tcp",
                 5.0] for i in range(600)]  # fmt: skip
        ssl = [[t + i * 60 + 0.5, f"C{d}{i}", f"81.2.{s}.{i % 200}", 40000, "185.232.2.11", 443,
                f"{d}.example"] for i in range(600)]  # fmt: skip
        _tsv(tmp_path / d / "conn.log", "conn", ["ts", "uid", "id.orig_h", "id.orig_p",
             "id.resp_h", "id.resp_p", "proto", "duration"], conn)  # fmt: skip
        _tsv(tmp_path / d / "ssl.log", "ssl", ["ts", "uid", "id.orig_h", "id.orig_p",
             "id.resp_h", "id.resp_p", "server_name"], ssl)  # fmt: skip
    rep = ReadReport()
    got = pd.concat(list(iter_read(tmp_path, chunksize=50, join=True, report=rep)))
    want = read(tmp_path)
    assert len(got) == len(want) == 1200
    assert got["tls_sni"].notna().all()
    j = rep.as_dict()["zeek_join"]
    assert j["groups"] == 2 and j["merged"] == 1200 and j["evicted_unmatched"] == 0
    assert j["held_peak"] < 600
