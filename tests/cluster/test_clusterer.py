"""OriginClusterer on synthetic origin tables (benign crowds, offices, CGNAT pools, campaigns)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

from attrib.cluster import OriginClusterer
from attrib.errors import ConfigError
from attrib.schema import CLUSTER_COLUMNS

T0 = pd.Timestamp("2026-11-01T00:00:00Z")
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120"
SAFARI = "Mozilla/5.0 (iPhone; CPU iPhone OS 17 like Mac OS X) Safari"


def _origins(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Origins and their true group (-1 benign individual, 100+ benign group, 0.. campaigns)."""
    rng = np.random.default_rng(seed)
    rows, truth = [], []

    def add(ip, ua, ja4, fp, accts, start_h, life_h, net="residential", asn=1):
        rows.append({"ip": ip, "top_user_agent": ua, "top_ja4": ja4, "top_tcp_fp": fp,
                     "accounts": ";".join(accts) if accts else None,
                     "target_set": ("|".join(sorted(accts)) if accts else None),
                     "first_seen": T0 + pd.Timedelta(hours=start_h),
                     "last_seen": T0 + pd.Timedelta(hours=start_h + life_h),
                     "net_type": net, "asn": asn, "country": "NL"})  # fmt: skip

    users = [f"user{i}@org" for i in range(300)]
    for i in range(300):  # home users: stock browsers, their own account
        add(
            f"81.{i // 250}.{i % 250}.1",
            CHROME if i % 3 else SAFARI,
            "t13d1516h2_common",
            "4:128:10:65535:1460:8:M,N,W,N,N,S:df",
            [users[i]],
            rng.uniform(0, 200),
            100,
        )
        truth.append(-1)
    for i in range(40):  # one carrier's CGNAT pool: everybody on Safari, many accounts
        add(
            f"100.{i}.7.9".replace("100.", "102.", 1),
            SAFARI,
            "t13d_ios",
            "4:64:12:65535:1380:6:M,N,W,N,N,T,S,E:df",
            list(rng.choice(users, 5, replace=False)),
            rng.uniform(0, 200),
            150,
            "mobile",
            2,
        )
        truth.append(100)
    for i in range(6):  # the office egress
        add(
            f"198.51.100.{i + 1}",
            CHROME,
            "t13d1516h2_common",
            "4:128:3:65535:1460:8:M,N,W,N,N,S:df",
            list(rng.choice(users, 40, replace=False)),
            0,
            300,
            "business",
            3,
        )
        truth.append(101)
    for c, (n, ja4, fp) in enumerate(
        [
            (20, "t13d_goTool", "4:64:14:5840:1452:5:M,S,T,N,W:df"),
            (14, "t12d_pyTool", "4:64:9:29200:1400:7:M,S,T,N,W:df"),
        ]
    ):
        targets = [f"exec{c}_{k}@org" for k in range(30)]
        for k in range(n):  # short-lived exits in a chain of hand-offs, spraying a shared list
            add(
                f"{60 + c}.{k}.{rng.integers(1, 250)}.{rng.integers(1, 250)}",
                CHROME,
                ja4,
                fp,
                list(rng.choice(targets, 8, replace=False)),
                10 + 12 * k,
                11,
                "residential",
                100 + k,
            )
            truth.append(c)
    return pd.DataFrame(rows), np.asarray(truth)


def test_recovers_campaigns_and_keeps_benign_out():
    o, truth = _origins()
    c = OriginClusterer(random_state=0).fit(o)
    adv = (truth >= 0) & (truth < 100)
    assert adjusted_rand_score(truth[adv], c.labels_[adv]) >= 0.9
    adv_clusters = {lab for lab in c.labels_[adv] if lab >= 0}
    benign_in_adv = np.isin(c.labels_[~adv], list(adv_clusters)).mean()
    assert benign_in_adv == 0.0
    # the office's shared target accounts make it one (benign) cluster of its own
    office = c.labels_[truth == 101]
    assert office[0] >= 0 and (office == office[0]).all()


def test_outputs_shape_and_summary():
    o, truth = _origins()
    o.index = o.index + 1000  # ids align to the input index, not positions
    c = OriginClusterer().fit(o)
    assert len(c.labels_) == len(o) and c.cluster_ids_.index.equals(o.index)
    assert (c.cluster_ids_.isna().to_numpy() == (c.labels_ < 0)).all()
    assert list(c.clusters_.columns) == [x for x in CLUSTER_COLUMNS if x != "score"]
    row = c.clusters_.set_index("cluster").loc[c.cluster_ids_[o.index[truth == 0][0]]]
    assert row["size"] == 20 and "top_ja4=t13d_goTool (20/20)" in row["shared_traits"]
    assert row["first_seen"] == T0 + pd.Timedelta(hours=10)
    assert len(row["members"].split(";")) == 20 and row["net_types"] == "residential"
    assert len(row["asns"].split(";")) == 20


def test_deterministic_and_estimator_contract():
    o, _ = _origins(1)
    a = OriginClusterer(random_state=3).fit(o)
    b = clone(a).fit(o)
    assert (a.labels_ == b.labels_).all()
    assert a.get_params()["random_state"] == 3
    assert (OriginClusterer().fit_predict(o) == OriginClusterer().fit(o).labels_).all()


def test_hdbscan_method_separates_campaigns_from_benign():
    # the alternative method: campaigns never mixed with benign origins, but split more
    o, truth = _origins()
    c = OriginClusterer(method="hdbscan").fit(o)
    adv = (truth >= 0) & (truth < 100)
    assert adjusted_rand_score(truth[adv], c.labels_[adv]) >= 0.4
    adv_clusters = [lab for lab in set(c.labels_[adv]) if lab >= 0]
    assert not np.isin(c.labels_[~adv], adv_clusters).any()


def test_empty_and_traitless():
    o, _ = _origins()
    c = OriginClusterer().fit(o.iloc[:0])
    assert len(c.labels_) == 0 and len(c.clusters_) == 0
    bare = o[["ip", "first_seen", "last_seen"]].iloc[:5]
    bare = bare.assign(ip=[f"{i}.1.1.1" for i in range(5)])
    assert (OriginClusterer().fit(bare).labels_ == -1).all()
    with pytest.raises(ConfigError):
        OriginClusterer(method="kmeans").fit(o)


def test_own_addresses_never_join_a_cluster():
    # issue #19: the office egress (shared accounts with everybody) glued origins together
    o, truth = _origins()
    o["is_office"] = (truth == 101).astype(float)
    c = OriginClusterer(random_state=0).fit(o)
    assert (c.labels_[truth == 101] == -1).all()
    assert c.cluster_ids_[truth == 101].isna().all()
    office_ips = set(o.loc[truth == 101, "ip"])
    members = {m for ms in c.clusters_["members"] for m in ms.split(";")}
    assert not office_ips & members
    assert not np.isin(np.flatnonzero(truth == 101), c.edges_[["a", "b"]].to_numpy()).any()
    adv = (truth >= 0) & (truth < 100)
    assert adjusted_rand_score(truth[adv], c.labels_[adv]) >= 0.9
    # the switch is honest: kept in, the office forms a cluster again
    kept = OriginClusterer(random_state=0, exclude_own=False).fit(o)
    assert (kept.labels_[truth == 101] >= 0).all()


def test_cluster_without_shared_traits_is_not_infrastructure():
    rng = np.random.default_rng(4)
    accounts = [f"a{k}@org" for k in range(12)]
    rows = []
    for i in range(15):  # sprayers: nothing in common but (overlapping) sprayed accounts
        accts = sorted(rng.choice(accounts, 10, replace=False))
        rows.append({"ip": f"{10 + i}.{i}.{i}.1", "top_user_agent": f"ua{i}", "top_ja4": f"j{i}",
                     "top_tcp_fp": f"fp{i}", "accounts": ";".join(accts),
                     "target_set": f"10:{i:x}", "first_seen": T0, "last_seen": T0,
                     "net_type": "hosting", "asn": i, "country": "US"})  # fmt: skip
    o, _ = _origins()
    o = pd.concat([o, pd.DataFrame(rows)], ignore_index=True)
    c = OriginClusterer(random_state=0).fit(o)
    spray = c.labels_[-15:]
    assert (spray >= 0).any(), "the sprayers are grouped (by their accounts)"
    cl = c.clusters_.set_index("cluster")
    for cid in set(c.cluster_ids_.iloc[-15:].dropna()):
        assert cl.loc[cid, "shared_traits"] == "" and not cl.loc[cid, "infrastructure"]
    campaign = c.cluster_ids_[np.flatnonzero(_origins()[1] == 0)[0]]
    assert cl.loc[campaign, "infrastructure"]
