"""Every code block in README.md and docs/*.md is either run here or marked as not code to run.

Fences say what a block is: ``python`` blocks are executed (each file's blocks in order, in one
namespace, from a scratch folder that sees the repository's ``data/`` and ``models/``);
``python no-run`` marks signature listings; ``sh``/``console``/``bash`` are shell commands (the
README's service block is run below, verbatim but for the port); ``text`` is output, and
``toml``/``json``/``ini``/``conf``/``spl``/``kql`` are configuration or queries for other tools.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)
KINDS = {"python", "python no-run", "sh", "bash", "console", "text", "toml", "json", "ini",
         "conf", "spl", "kql"}  # fmt: skip


def blocks(path: Path) -> list[tuple[str, str, int]]:
    text = path.read_text(encoding="utf-8")
    return [(m.group(1).strip(), m.group(2), text.count("\n", 0, m.start()) + 1)
            for m in FENCE.finditer(text)]  # fmt: skip


def test_fences_pair_up_and_say_what_they_hold():
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        n_fences = len(re.findall(r"^```", text, re.M))
        found = blocks(path)
        assert n_fences == 2 * len(found), f"{path.name}: unpaired code fence"
        for kind, _, line in found:
            assert kind in KINDS, f"{path.name}:{line}: fence {kind!r} (one of {sorted(KINDS)})"


def _scratch(tmp_path: Path) -> Path:
    for name in ("data", "models", "notebooks"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


PY_DOCS = [p for p in DOCS if any(k == "python" for k, _, _ in blocks(p))]


@pytest.mark.slow
@pytest.mark.parametrize("path", PY_DOCS, ids=[p.name for p in PY_DOCS])
def test_python_blocks_run(path, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(_scratch(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for kind, code, line in blocks(path):
        if kind != "python":
            continue
        compiled = compile("\n" * line + code, f"{path.name}", "exec")
        exec(compiled, namespace)  # noqa: S102  (the documentation's own code)
    import matplotlib.pyplot as plt

    plt.close("all")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _service_block() -> str:
    for kind, code, _ in blocks(ROOT / "README.md"):
        if kind == "sh" and "attrib serve" in code:
            return code
    raise AssertionError("README.md: no service block")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_readme_service_block_runs_verbatim(tmp_path):
    pytest.importorskip("uvicorn")
    home = tmp_path / "home"
    bin_dir = tmp_path / "clone" / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    # the fresh clone's venv: its attrib is this checkout; its pip records what it was asked
    (bin_dir / "attrib").write_text(
        f'#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m attrib "$@"\n'
    )
    (bin_dir / "pip").write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/pip-args\n')
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    port = _free_port()
    script = _service_block().replace("8787", str(port))
    script = f"set -e\n{script}\necho\nkill %1\nwait %1 || true\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATTRIB_", "XDG_"))}
    env["HOME"] = str(home)
    done = subprocess.run(["bash", "-c", script], cwd=bin_dir.parents[1], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "pip-args").read_text().split() == ["install", "-e", ".[api]"]
    assert '"ip":"203.0.113.7"' in done.stdout.replace(" ", ""), done.stdout + done.stderr
    assert (home / ".local/share/attrib/keys.db").is_file()
    assert (home / ".local/share/attrib/sightings.db").is_file()
    assert not list((tmp_path / "clone").glob("*.db")), "state landed in the working directory"
