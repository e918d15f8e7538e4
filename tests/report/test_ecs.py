import json

from attrib_tables import make_origins

from attrib.report.ecs import ECS_VERSION, write_ecs


def test_ndjson_nested_ecs(tmp_path):
    o = make_origins()
    p = write_ecs(o, tmp_path / "origins.ndjson", run_id="r1")
    docs = [json.loads(line) for line in p.read_text().splitlines()]
    assert len(docs) == len(o)
    d = docs[0]
    assert d["source"]["ip"] == "198.51.100.10"
    assert d["source"]["as"] == {"number": 64500, "organization": {"name": "ExampleNet Broadband"}}
    assert d["source"]["geo"]["location"] == {"lat": 37.7, "lon": -122.4}
    assert (
        d["attrib"]["score"] == 0.97 and d["attrib"]["rank"] == 1 and d["attrib"]["cluster"] == "C1"
    )
    assert d["event"]["kind"] == "enrichment" and d["event"]["risk_score"] == 97.0
    assert d["@timestamp"] == "2026-03-03T06:00:00.000Z" and d["ecs"]["version"] == ECS_VERSION
    assert d["attrib"]["run_id"] == "r1" and "tags" not in d["attrib"]
    benign = docs[-1]
    assert "cluster" not in benign["attrib"]  # nulls are left out, not invented
    nl = next(x for x in docs if x["source"]["ip"] == "203.0.113.77")
    assert nl["attrib"]["tags"] == ["cloud"]
