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
