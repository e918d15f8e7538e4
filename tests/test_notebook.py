"""Execute notebooks/investigation.ipynb end to end in a fresh kernel of this interpreter."""

import json
import sys
from pathlib import Path

import pytest
from attrib_tables import demo_scenario

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "investigation.ipynb"


@pytest.fixture()
def kernel_of_this_python(tmp_path, tmp_path_factory, monkeypatch):
    """A kernelspec that runs ipykernel on sys.executable (the venv), found via JUPYTER_PATH."""
    spec = tmp_path / "kernels" / "attrib-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "attrib test",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("ATTRIB_DEMO_DIR", str(demo_scenario(tmp_path_factory)))
    return "attrib-test"


def test_committed_without_outputs():
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(not c["outputs"] and c["execution_count"] is None for c in code)


@pytest.mark.slow
def test_notebook_runs(kernel_of_this_python, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name=kernel_of_this_python,
        timeout=300,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs
    )
    assert "<Analysis" in text and "valid STIX 2.1: True" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 3  # map, timeline, graph
