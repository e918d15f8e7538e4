import pytest
from attrib_tables import make_clusters, make_origins

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from attrib import plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_map():
    o = make_origins()
    ax = plot.plot_map(o, min_score=0.5)
    assert len(ax.collections[-1].get_offsets()) == 8
    assert len(ax.patches) > 100  # land polygons from the bundled outline


def test_timeline_handoffs():
    o = make_origins()
    c1 = o[o["cluster"] == "C1"]
    assert plot.handoffs(c1) == [(f"198.51.100.{10 + i}", f"198.51.100.{11 + i}") for i in range(5)]
    ax = plot.plot_timeline(c1, cluster="C1")
    assert len(ax.patches) == 6 and "5 hand-offs" in ax.get_title()
    # parallel long-lived origins are not hand-offs
    assert plot.handoffs(o[o["cluster"].isna()]) == []


def test_graph():
    o = make_origins()
    ax = plot.plot_graph(o, make_clusters(o))
    assert ax.get_title() == "2 clusters, 8 origins"


def test_timeline_of_a_big_cluster_stays_readable():
    # issue #19: the notebook's timeline figure was 1100x7400 px for 244 members
    o = make_origins(n_cluster=200)
    o["score"] = o["score"].clip(lower=0.01)
    c1 = o[o["cluster"] == "C1"]
    ax = plot.plot_timeline(c1, cluster="C1")
    w, h = ax.figure.get_size_inches() * ax.figure.dpi
    assert len(ax.patches) == 30 and h <= 1000 and w <= 1200
    assert "200 exits (30 best-scored drawn), 199 hand-offs" in ax.get_title()
    drawn = {t.get_text() for t in ax.get_yticklabels()}
    assert drawn == {f"198.51.100.{10 + i}" for i in range(30)}
    assert len(plot.plot_timeline(c1, max_rows=None).patches) == 200


def test_graph_labels_only_the_top_clusters():
    o = make_origins(n_cluster=40)
    o["cluster"] = [f"C{1 + i // 2}" for i in range(40)] + list(o["cluster"].iloc[40:])
    ax = plot.plot_graph(o, make_clusters(o), max_clusters=12)
    assert ax.get_title().startswith("12 clusters, ")
    assert len(ax.texts) == 6
