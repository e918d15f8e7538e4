import json
import re

import pytest
from attrib_tables import make_clusters, make_origins

from attrib.report.html import render_html, write_html

from .browser import ARTIFACTS, chromium_driver

META = {
    "run_id": "run-test",
    "created": "2026-03-09T00:00:00Z",
    "data_version": "bundled-2026.03",
    "model_id": "orb-gbm-1",
    "read": {
        "rows": 1234,
        "skipped": 2,
        "files": [{"path": "conn.log", "format": "zeek", "rows": 1200, "skipped_total": 2}],
        "failed": [{"path": "broken.gz", "error": "cannot decompress"}],
    },
    "stages": [{"stage": "read", "seconds": 1.5, "peak_rss_mb": 210.0}],
}


def test_self_contained_and_escaped():
    o = make_origins()
    doc = render_html(o, make_clusters(o), META)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", doc)  # nothing fetched
    assert "<b>Ltd</b>" not in doc  # data is JSON-escaped, never markup
    blob = re.search(r'id="attrib-data">(.*?)</script>', doc, re.S).group(1)
    data = json.loads(blob)
    assert data["n_origins"] == len(o) and data["n_flagged"] == 8
    assert [c["cluster"] for c in data["clusters"]] == ["C1", "C2"]
    assert len(data["graph"]["nodes"]) == 2 + 8 + 4  # clusters + members + ASNs


def test_max_rows_keeps_cluster_members():
    o = make_origins(n_cluster=10)
    doc = render_html(o, make_clusters(o), META, max_rows=3)
    data = json.loads(re.search(r'id="attrib-data">(.*?)</script>', doc, re.S).group(1))
    assert len(data["origins"]) == 3
    assert {r["ip"] for r in data["origins"] + data["extra_members"]} >= {
        f"198.51.100.{10 + i}" for i in range(10)
    }


@pytest.mark.browser
def test_renders_in_headless_chromium(tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    o = make_origins()
    page = write_html(o, make_clusters(o), tmp_path / "report.html", META)
    drv = chromium_driver()
    try:
        drv.get(page.as_uri())
        WebDriverWait(drv, 20).until(
            lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1"
        )
        rows = drv.find_elements(By.CSS_SELECTOR, "#origins-table tbody tr")
        assert len(rows) == len(o)
        assert rows[0].get_attribute("data-ip") == "198.51.100.10"
        assert "<b>Ltd</b>" in drv.find_element(By.ID, "origins-table").text  # shown as text
        assert len(drv.find_elements(By.CSS_SELECTOR, "#map-points circle")) == len(o)
        assert (
            drv.find_element(By.CSS_SELECTOR, "#map path.land").get_attribute("d").startswith("M")
        )
        assert len(drv.find_elements(By.CSS_SELECTOR, "#graph rect.cluster")) == 2
        assert len(drv.find_elements(By.CSS_SELECTOR, "#graph circle.origin")) == 8
        assert len(drv.find_elements(By.CSS_SELECTOR, "#timeline rect.tl-bar")) == 6
        # six exits of C1 each start 20 h after the previous and live 30 h: five hand-offs
        assert len(drv.find_elements(By.CSS_SELECTOR, "#timeline path.tl-handoff")) == 5
        assert "5 hand-offs" in drv.find_element(By.ID, "tl-note").text
        prov = drv.find_element(By.ID, "prov").text
        assert "orb-gbm-1" in prov and "bundled-2026.03" in prov
        assert "broken.gz" in drv.find_element(By.ID, "inputs-table").text
        # filters
        Select(drv.find_element(By.ID, "f-cluster")).select_by_value("C2")
        assert len(drv.find_elements(By.CSS_SELECTOR, "#origins-table tbody tr")) == 2
        Select(drv.find_element(By.ID, "f-cluster")).select_by_value("")
        drv.find_element(By.ID, "f-text").send_keys("password spray")
        assert len(drv.find_elements(By.CSS_SELECTOR, "#origins-table tbody tr")) == 1
        Select(drv.find_element(By.ID, "tl-cluster")).select_by_value("C2")
        assert len(drv.find_elements(By.CSS_SELECTOR, "#timeline rect.tl-bar")) == 2
        ARTIFACTS.mkdir(exist_ok=True)
        drv.execute_script(
            "var e=document.getElementById('f-text'); e.value='';"
            "e.dispatchEvent(new Event('input'));"
        )
        Select(drv.find_element(By.ID, "tl-cluster")).select_by_value("C1")
        drv.save_screenshot(str(ARTIFACTS / "report.png"))
        logs = [e for e in drv.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        assert not logs, logs
    finally:
        drv.quit()


def _data(doc):
    return json.loads(re.search(r'id="attrib-data">(.*?)</script>', doc, re.S).group(1))


def test_headline_says_campaigns_exits_and_accounts():
    o = make_origins()
    o["accounts"] = ["a@org;b@org"] * 3 + ["b@org"] * (len(o) - 3)
    o["failure_ratio"] = [0.5] + [1.0] * (len(o) - 1)
    lines = _data(render_html(o, make_clusters(o), META))["headline"]
    assert len(lines) == 3
    assert lines[0].startswith("2 campaigns") and "C1 (6 origins, score 0.97)" in lines[0]
    assert lines[1].startswith("8 exits flagged (score \u2265 0.50) of 12 origins, 8 of them in")
    assert lines[2].startswith("Accounts at risk: 2 touched by flagged exits, 2 of them by exits")


def test_headline_without_campaign_or_accounts():
    o = make_origins()
    cl = make_clusters(o).assign(infrastructure=False, score=None)
    lines = _data(render_html(o, cl, META))["headline"]
    assert lines[0].startswith("No campaign") and "no account data" in lines[2]


def test_provenance_is_readable_text_not_json():
    meta = {
        **META,
        "context": {
            "name": "Example",
            "home_countries": ["DE"],
            "timezone": "UTC",
            "work_hours": [8, 18],
            "offices": ["192.0.2.0/28"],
            "services": [],
            "accounts": 40,
            "inferred": ["accounts"],
        },
        "enrichment": {
            "bundle": {
                "built": "2026-11-29",
                "age_days": 4.2,
                "upstreams": {"asn": {"package": "p", "version": "1"}},
            }
        },
    }
    rows = _data(render_html(make_origins(), make_clusters(make_origins()), meta))["provenance"]
    assert all(len(r) == 3 for r in rows)
    assert not any("{" in r[2] for r in rows)
    got = {(r[0], r[1]): r[2] for r in rows}
    assert got[("organisation", "accounts")] == "40 (inferred from the data)"
    assert got[("organisation", "offices")] == "192.0.2.0/28"
    assert got[("enrichment", "bundle built")] == "2026-11-29 (4 days old)"


def test_graph_labels_only_the_top_clusters():
    o = make_origins(n_cluster=40)
    o["cluster"] = [f"C{1 + i // 2}" for i in range(40)] + list(o["cluster"].iloc[40:])
    g = _data(render_html(o, make_clusters(o), META))["graph"]
    clusters = [n for n in g["nodes"] if n["kind"] == "cluster"]
    assert len(clusters) == 12 and sum(n["show_label"] for n in clusters) == 6
    assert not any(n["show_label"] for n in g["nodes"] if n["kind"] != "cluster")
    assert all(n.get("title") for n in g["nodes"])  # the rest on hover


@pytest.mark.browser
def test_big_report_reads_at_a_glance(tmp_path):
    # issue #19: 5 rows on screen and a timeline of every member (a page ~7,750 px tall)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    o = make_origins(n_cluster=230)
    o["score"] = o["score"].clip(lower=0.01)
    page = write_html(o, make_clusters(o), tmp_path / "report.html", META)
    drv = chromium_driver()
    try:
        drv.set_window_size(1400, 1800)
        drv.get(page.as_uri())
        WebDriverWait(drv, 20).until(
            lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1"
        )
        view = drv.execute_script("return window.innerHeight")
        height = drv.execute_script("return document.documentElement.scrollHeight")
        assert height <= 3 * view, f"page {height} px tall, {height / view:.1f} screens"
        visible = drv.execute_script(
            "return [...document.querySelectorAll('#origins-table tbody tr')]"
            ".filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length"
        )
        assert visible >= 20
        assert len(drv.find_elements(By.CSS_SELECTOR, "#origins-table tbody tr")) == 30
        assert len(drv.find_elements(By.CSS_SELECTOR, "#timeline rect.tl-bar")) == 30
        assert "230 exits, 229 hand-offs" in drv.find_element(By.ID, "tl-note").text
        # the drawn page holds the best-scored members
        drawn = {b.get_attribute("data-ip") for b in
                 drv.find_elements(By.CSS_SELECTOR, "#timeline rect.tl-bar")}  # fmt: skip
        assert drawn == {f"198.51.100.{10 + i}" for i in range(30)}
        show_all = [b for b in drv.find_elements(By.CSS_SELECTOR, "#tl-pager button")
                    if b.text.startswith("show all")]  # fmt: skip
        show_all[0].click()
        assert len(drv.find_elements(By.CSS_SELECTOR, "#timeline rect.tl-bar")) == 230
        nxt = [b for b in drv.find_elements(By.CSS_SELECTOR, "#origins-pager button")
               if b.text.startswith("next")]  # fmt: skip
        nxt[0].click()
        first = drv.find_element(By.CSS_SELECTOR, "#origins-table tbody tr")
        assert first.get_attribute("data-ip") == o.sort_values("rank")["ip"].iloc[30]  # rank 31
        assert len(drv.find_element(By.ID, "headline").find_elements(By.TAG_NAME, "li")) == 3
        logs = [e for e in drv.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        assert not logs, logs
    finally:
        drv.quit()


def test_report_size_follows_its_bounds_not_the_origins(monkeypatch):
    # issue #21: thousands of small clusters must not pull every member into the page
    from attrib.report import html as report_html

    monkeypatch.setattr(report_html, "DEFAULT_MAX_CLUSTERS", 2)
    monkeypatch.setattr(report_html, "MAX_MEMBERS", 4)
    monkeypatch.setattr(report_html, "MAX_EXTRA_MEMBERS", 3)
    o = make_origins(n_cluster=80)
    o["cluster"] = [f"C{1 + i // 8}" for i in range(80)] + list(o["cluster"].iloc[80:])
    cl = make_clusters(o)
    data = _data(render_html(o, cl, META, max_rows=3))
    assert data["n_clusters"] == 10 and len(data["clusters"]) == 2
    assert all(len(c["members"]) <= 4 for c in data["clusters"])
    assert all(c["members_total"] >= 8 for c in data["clusters"])
    assert len(data["origins"]) == 3 and len(data["extra_members"]) <= 3
    held = {r["ip"] for r in data["origins"] + data["extra_members"]}
    assert all(ip in held for c in data["clusters"] for ip in c["members"])
    flagged = int((cl["score"] >= 0.5).sum())
    assert flagged > 2
    assert data["headline"][0].startswith(f"{flagged} campaigns")  # counts every cluster
