"""Analysis helpers on hand-built tables (the stages themselves are tested end to end in test_pipeline)."""

import json

import pandas as pd
import pytest
from attrib_tables import make_clusters, make_origins

from attrib.analysis import Analysis
from attrib.context import OrgContext
from attrib.io import FileStats, ReadReport
from attrib.report.summary import summary_text
from attrib.schema import conform_events


def _events(origins):
    rows = []
    for k, ip in enumerate(origins["ip"]):
        for j in range(3):
            rows.append(
                {
                    "ts": pd.Timestamp("2026-03-02", tz="UTC") + pd.Timedelta(hours=k + j),
                    "src_ip": ip,
                    "user": f"user{j}@corp.example",
                    "app": "Office 365",
                    "outcome": "success" if (k == 0 and j == 0) else "failure",
                    "source": "entra",
                }
            )
    return conform_events(pd.DataFrame(rows))


@pytest.fixture()
def analysis():
    o = make_origins()
    rep = ReadReport(
        files=[FileStats(path="signins.json", format="entra", rows=36)],
        failed=[("bad.gz", "cannot decompress")],
    )
    return Analysis(
        events=_events(o),
        origins=o,
        clusters=make_clusters(o),
        context=OrgContext(),
        read_report=rep,
        meta={
            "run_id": "r1",
            "threshold": 0.5,
            "counts": {"flagged": 8},
            "context": {"inferred": ["home_countries"], "home_countries": ["DE"]},
        },
    )


def test_members_and_top_cluster(analysis):
    assert analysis.top_cluster == "C1"
    m = analysis.members("C1")
    assert list(m["ip"]) == [f"198.51.100.{10 + i}" for i in range(6)]
    with pytest.raises(KeyError, match="no cluster"):
        analysis.members("C404")


def test_accounts_pivot(analysis):
    acc = analysis.accounts(cluster="C1")
    assert list(acc["user"]) == ["user0@corp.example", "user1@corp.example", "user2@corp.example"]
    assert (
        acc.loc[0, "events"] == 6 and acc.loc[0, "successes"] == 1 and acc.loc[0, "failures"] == 5
    )
    assert acc.loc[0, "origins"] == 6
    assert analysis.accounts("203.0.113.77")["events"].sum() == 3
    assert analysis.accounts([]).empty


def test_explain_without_scorer_uses_reasons(analysis):
    exp = analysis.explain("203.0.113.77")
    assert list(exp["reason"]) == ["rented VPS", "password spray across 40 accounts"]
    with pytest.raises(KeyError, match="not an origin"):
        analysis.explain("192.0.2.254")


def test_summary(analysis, tmp_path):
    analysis.write(tmp_path / "out")
    text = summary_text(analysis, 3)
    lines = text.splitlines()
    assert lines[0] == "read 36 rows from 1 file(s)"
    assert lines[1] == "warning: 1 unreadable file(s) skipped: bad.gz"
    assert "home_countries=DE" in lines[2]
    assert lines[3].startswith("12 origins, 2 clusters, 8 flagged")
    assert lines[5].split()[:4] == ["1", "198.51.100.10", "0.97", "C1"]
    assert len(lines) == 4 + 1 + 3 + 1 and lines[-1].startswith(f"outputs: {tmp_path / 'out'}")
    assert json.loads((tmp_path / "out" / "run.json").read_text())["run_id"] == "r1"


def test_exports(analysis, tmp_path):
    bundle = analysis.to_stix()
    assert sum(o.type == "indicator" for o in bundle.objects) == 8
    assert analysis.to_stix(tmp_path / "x.json", threshold=0.9).exists()
    p = analysis.to_ecs(tmp_path / "o.ndjson")
    assert json.loads(p.read_text().splitlines()[0])["attrib"]["run_id"] == "r1"
