"""Context inference in the same pass: the tally, the adoption check, and the run itself."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from attrib.context import OrgContext
from attrib.features import OriginAccumulator
from attrib.features.direction import DirectedAccumulator, DirectionCounts
from attrib.pipeline._stream import StreamResult
from attrib.pipeline._tally import InferenceTally
from attrib.schema import conform_events

DEMO = Path(__file__).resolve().parents[2] / "data" / "samples" / "demo"
SERVICE = "185.232.2.11"


def _chunk(rows: list[tuple[str | None, str | None, str | None, str]]) -> pd.DataFrame:
    ts = pd.Timestamp("2026-03-02 10:00", tz="UTC")
    df = pd.DataFrame(rows, columns=["src_ip", "dst_ip", "user", "source"])
    df["ts"] = [ts + pd.Timedelta(minutes=i) for i in range(len(df))]
    df["outcome"] = ["success" if u else None for u in df["user"]]
    df["event_type"] = ["conn" if s == "zeek" else "signin" for s in df["source"]]
    return conform_events(df)


def _feed(chunks: list[pd.DataFrame]) -> tuple[DirectedAccumulator, InferenceTally]:
    ctx = OrgContext()
    directed = DirectedAccumulator(ctx, None, lambda: OriginAccumulator(ctx), StreamResult)
    tally = InferenceTally()
    for c in chunks:
        tally.add(c)
        directed.update(c)
    return directed, tally


def _chunks(service_opens: bool) -> list[pd.DataFrame]:
    a = [(f"81.2.69.{i}", SERVICE, None, "zeek") for i in range(1, 40)]
    b = [("81.2.69.1", None, "ann@example.com", "entra"), ("81.2.69.2", None, None, "entra")]
    c = [(SERVICE, "8.8.8.8", None, "zeek")] if service_opens else []
    return [_chunk(a[:20]), _chunk(a[20:] + b + c)]


def _inferred() -> OrgContext:
    return replace(OrgContext(), services=(ipaddress.ip_network(SERVICE),), inferred=("services",))


def test_recount_equals_counting_under_the_inferred_context() -> None:
    chunks = _chunks(service_opens=True)
    directed, tally = _feed(chunks)
    want = DirectionCounts()
    for c in chunks:
        want.add(c, _inferred())
    assert tally.recount(directed.counts, _inferred()).as_dict() == want.as_dict()


def test_adopted_when_no_address_changes_class() -> None:
    directed, tally = _feed(_chunks(service_opens=False))
    assert tally.adopt(directed, _inferred())
    assert directed.context.services == _inferred().services
    assert all(acc.context is directed.context for acc, _ in directed.views.values())


def test_read_again_when_an_inferred_service_is_also_a_source() -> None:
    directed, tally = _feed(_chunks(service_opens=True))
    assert not tally.adopt(directed, _inferred())
    assert directed.context.services == ()


def test_sample_is_what_inference_reads() -> None:
    _, tally = _feed(_chunks(service_opens=False))
    s = tally.sample()
    assert (s["dst_ip"].isna()).sum() == 2  # the identity rows, whole
    assert s["dst_ip"].notna().sum() == 39  # distinct connection pairs


def test_identity_rows_are_counted_not_kept_row_by_row() -> None:
    # issue #21: the tally grew by one row per sign-in; it keeps distinct keys with a count,
    # and the context inferred from it is the one the rows themselves give
    from attrib.context.infer import complete_context

    signins = [("81.2.69.7", None, "ann@example.com", "entra")] * 30 + [
        ("203.0.113.9", None, "bob@example.com", "entra")] * 20 + [
        ("198.51.100.4", None, "cy@example.com", "entra")] * 25  # fmt: skip
    chunks = [_chunk(signins[i : i + 10]) for i in range(0, len(signins), 10)]
    _, tally = _feed(chunks)
    s = tally.sample()
    assert len(s) == 3 and s["n"].tolist() == [30, 20, 25]
    geo = pd.DataFrame({"ip": ["81.2.69.7", "203.0.113.9", "198.51.100.4"],
                        "country": ["GB", "US", "NL"]})  # fmt: skip
    rows = pd.concat(chunks, ignore_index=True)
    got = complete_context(OrgContext(), s, geo)
    assert got.home_countries == complete_context(OrgContext(), rows, geo).home_countries
    assert got.home_countries == ("GB", "NL", "US")  # by sign-ins, not by distinct keys


@pytest.mark.slow
def test_streamed_run_infers_in_one_pass_and_matches_materialised() -> None:
    import attrib

    streamed = attrib.analyze(DEMO, keep_events=False, progress=False)
    stages = {s["stage"]: s for s in streamed.meta["stages"]}
    assert stages["context"]["single_pass"] is True
    assert "read (inferred context)" not in stages
    whole = attrib.analyze(DEMO, keep_events=True, progress=False)
    assert streamed.context == whole.context
    cols = ["ip", "score", "rank", "cluster"]
    pd.testing.assert_frame_equal(streamed.origins[cols], whole.origins[cols])
