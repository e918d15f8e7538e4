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
