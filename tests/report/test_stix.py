import json

import pandas as pd
from attrib_tables import make_clusters, make_origins
from stix2validator import ValidationOptions, validate_string

from attrib.report.stix import stix_bundle, write_stix


def _objs(bundle, kind):
    return [o for o in bundle.objects if o.type == kind]


def test_bundle_valid_against_stix21(tmp_path):
    o = make_origins()
    p = write_stix(o, make_clusters(o), tmp_path / "stix.json")
    res = validate_string(p.read_text(), ValidationOptions(version="2.1", strict=True))
    assert res.is_valid, [str(e) for e in res.errors]
    assert not res.warnings, [str(w) for w in res.warnings]


def test_objects_and_relationships():
    o = make_origins()
    b = stix_bundle(o, make_clusters(o))
    infra = {i.name: i for i in _objs(b, "infrastructure")}
    assert set(infra) == {"attrib cluster C1", "attrib cluster C2"}
    assert infra["attrib cluster C1"].infrastructure_types == ["anonymization", "botnet"]
    assert infra["attrib cluster C2"].infrastructure_types == ["anonymization"]
    assert "password spray" in infra["attrib cluster C2"].description
    inds = _objs(b, "indicator")
    assert len(inds) == 8  # flagged origins only; the four benign ones stay out
    assert "[ipv4-addr:value = '198.51.100.10']" in {i.pattern for i in inds}
    rels = _objs(b, "relationship")
    kinds = {
        (r.relationship_type, r.source_ref.split("--")[0], r.target_ref.split("--")[0])
        for r in rels
    }
    assert kinds == {
        ("indicates", "indicator", "infrastructure"),
        ("consists-of", "infrastructure", "ipv4-addr"),
    }
    assert sum(r.relationship_type == "indicates" for r in rels) == 8
    top = next(i for i in inds if i.pattern.endswith("'198.51.100.10']"))
    assert top.confidence == 97 and "short-lived exit" in top.description
    assert "compromised" in top.indicator_types


def test_threshold_and_ipv6_and_unclustered():
    o = make_origins()
    extra = o.iloc[[0]].copy()
    extra["ip"], extra["cluster"], extra["score"] = "2001:db8::7", pd.NA, 0.66
    o2 = pd.concat([o, extra], ignore_index=True)
    b = stix_bundle(o2, make_clusters(o), threshold=0.9)
    assert [i.name for i in _objs(b, "infrastructure")] == ["attrib cluster C1"]
    pats = {i.pattern for i in _objs(b, "indicator")}
    # 0.97, 0.95, 0.93, 0.91
    assert len(pats) == 4 and "[ipv6-addr:value = '2001:db8::7']" not in pats
    b = stix_bundle(o2, make_clusters(o), threshold=0.6)
    assert "[ipv6-addr:value = '2001:db8::7']" in {i.pattern for i in _objs(b, "indicator")}
    res = validate_string(b.serialize(), ValidationOptions(version="2.1"))
    assert res.is_valid


def test_empty():
    o = make_origins().iloc[:0]
    b = json.loads(stix_bundle(o, make_clusters(o)).serialize())
    assert [x["type"] for x in b["objects"]] == ["identity"]


def test_cluster_without_shared_traits_is_not_exported_as_infrastructure():
    o = make_origins()
    cl = make_clusters(o)
    cl.loc[cl["cluster"] == "C1", ["infrastructure", "shared_traits", "score"]] = [False, "", None]
    b = stix_bundle(o, cl, threshold=0.9)
    assert "attrib cluster C1" not in [i.name for i in _objs(b, "infrastructure")]
    assert len(_objs(b, "indicator")) == 4  # its flagged members still go out, on their own
