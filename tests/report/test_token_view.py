"""The "access without sign-in" view, its summary lines, HTML section and STIX objects."""

import json

import pandas as pd
from attrib_tables import make_clusters, make_origins
from stix2validator import ValidationOptions, validate_string

from attrib.report.html import render_html
from attrib.report.stix import stix_bundle, write_stix
from attrib.report.summary import _token_lines
from attrib.report.token_view import TOKEN_VIEW_COLUMNS, token_access_view

FORGER, FORGER2 = "203.0.113.77", "198.51.100.10"


def with_tokens() -> pd.DataFrame:
    o = make_origins()
    o["token_abuse_score"] = float("nan")
    o["accounts"] = "x@o"
    o["access_apps"] = pd.NA
    o["access_items"] = float("nan")
    o["access_mailboxes"] = float("nan")
    ip = o["ip"].astype(str)
    o.loc[ip == FORGER, ["token_abuse_score", "accounts", "access_apps"]] = [
        0.93, "ceo@o;cfo@o", "rare-app",
    ]  # fmt: skip
    o.loc[ip == FORGER, ["access_items", "access_mailboxes"]] = [1240.0, 2.0]
    o.loc[ip == FORGER2, ["token_abuse_score", "accounts", "access_apps"]] = [
        0.7, "ceo@o", "rare-app",
    ]  # fmt: skip
    o.loc[ip == FORGER2, ["access_items", "access_mailboxes"]] = [60.0, 1.0]
    o.loc[ip == "198.51.100.11", "token_abuse_score"] = 0.2  # below the threshold
    o["access_account_items"] = pd.NA
    o.loc[ip == FORGER, "access_account_items"] = "ceo@o=1000;cfo@o=240"
    return o


def test_view_per_account():
    v = token_access_view(with_tokens())
    assert list(v.columns) == list(TOKEN_VIEW_COLUMNS)
    assert list(v["account"]) == ["ceo@o", "cfo@o"]
    ceo = v.iloc[0]
    assert ceo["origins"].split(";") == [FORGER, FORGER2]
    # per-account items where the origin lists them, else the origin's total (FORGER2: 60)
    assert ceo["items"] == 1060 and ceo["apps"] == "rare-app" and ceo["evidence"] == 0.93
    assert v.iloc[1]["items"] == 240
    assert ceo["networks"].startswith("AS64999 VPS Host")
    assert token_access_view(make_origins()).empty  # no evidence column: no rows


def test_summary_lines():
    lines = _token_lines(with_tokens())
    assert lines[0].endswith("2 account(s)")
    assert "ceo@o" in lines[1] and "1,060 items from 2 origin(s)" in lines[1]
    assert _token_lines(make_origins()) == []


def test_html_section_has_the_accounts():
    o = with_tokens()
    page = render_html(o, make_clusters(o))
    assert 'id="token-table"' in page
    blob = page.split('id="attrib-data">', 1)[1].split("</script>", 1)[0]
    data = json.loads(blob)
    assert [r["account"] for r in data["token_access"]] == ["ceo@o", "cfo@o"]


def test_stix_infrastructure_related_to_attack_patterns(tmp_path):
    o = with_tokens()
    b = stix_bundle(o, make_clusters(o))
    aps = {
        ap.external_references[0].external_id: ap for ap in b.objects if ap.type == "attack-pattern"
    }
    assert set(aps) == {"T1550.001", "T1114.002"}
    infra = [i for i in b.objects if i.type == "infrastructure" and "token" in i.name]
    assert len(infra) == 1 and "ceo@o" in infra[0].description
    rels = [r for r in b.objects if r.type == "relationship" and r.source_ref == infra[0].id]
    assert {r.relationship_type for r in rels} == {"related-to", "consists-of"}
    assert {r.target_ref for r in rels if r.relationship_type == "related-to"} == {
        ap.id for ap in aps.values()
    }
    p = write_stix(o, make_clusters(o), tmp_path / "stix.json")
    res = validate_string(p.read_text(), ValidationOptions(version="2.1", strict=True))
    assert res.is_valid, [str(e) for e in res.errors]
