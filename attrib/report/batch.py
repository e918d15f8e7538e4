"""The batch output folder of ``attrib analyze``, written atomically.

Every file is first written into a staging folder inside the output folder (same filesystem, so
the final moves are renames that cannot run out of space); only when all of them are complete
are they moved into place, ``run.json`` last. A failure at any point (full disk, permissions,
a kill) leaves the previous contents of the folder as they were and removes the staging folder.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from attrib._atomic import _explain, ensure_writable_dir
from attrib.errors import OutputError
from attrib.report.ecs import write_ecs
from attrib.report.html import write_html
from attrib.report.stix import write_stix
from attrib.report.values import members
from attrib.schema import ORIGIN_CORE_COLUMNS

__all__ = ["OUTPUT_FILES", "StagedOutputs", "origins_for_output", "stage_outputs"]

logger = logging.getLogger(__name__)

#: Files of a complete output folder, in the order they are published (``run.json`` last).
OUTPUT_FILES = ("origins.parquet", "origins.csv", "clusters.csv", "origins.ndjson", "stix.json",
                "report.html", "run.json")  # fmt: skip


def origins_for_output(origins: pd.DataFrame) -> pd.DataFrame:
    """Core columns first (as in the batch contract), the features after them.

    Parameters
    ----------
    origins
        The scored origins table.

    Returns
    -------
    pandas.DataFrame
        Same rows, ranked, columns reordered.
    """
    core = [c for c in ORIGIN_CORE_COLUMNS if c in origins.columns]
    rest = [c for c in origins.columns if c not in core]
    out = origins[core + rest]
    return out.sort_values("rank", kind="stable") if "rank" in out.columns else out


def _clusters_csv(clusters: pd.DataFrame) -> pd.DataFrame:
    out = clusters.copy()
    if "members" in out.columns:
        out["members"] = [" ".join(members(v)) for v in out["members"]]
    return out


class StagedOutputs:
    """Outputs written to a staging folder, waiting to be published or discarded."""

    def __init__(self, out: Path, staging: Path) -> None:
        self.out = out
        self.staging = staging

    def publish(self) -> list[Path]:
        """Move every staged file into the output folder (``run.json`` last).

        Returns
        -------
        list of pathlib.Path
            The published files.
        """
        done = []
        mode = 0o666 & ~_umask()  # mkstemp makes 0600 files; outputs are meant to be shared
        try:
            for name in OUTPUT_FILES:
                src = self.staging / name
                if src.exists():
                    os.chmod(src, mode)
                    os.replace(src, self.out / name)
                    done.append(self.out / name)
        except OSError as exc:
            raise _explain(exc, self.out) from None
        finally:
            self.discard()
        return done

    def rewrite_run_json(self, meta: dict[str, Any]) -> None:
        """Replace the staged ``run.json`` (e.g. with the timings of later stages).

        On a write error the earlier staged ``run.json`` is kept and a warning logged.

        Parameters
        ----------
        meta
            The run metadata.
        """
        from attrib._atomic import atomic_path

        meta["outputs"] = [str(self.out / n) for n in OUTPUT_FILES]
        try:
            with atomic_path(self.staging / "run.json") as tmp:
                tmp.write_text(_json(meta), encoding="utf-8")
        except OutputError as exc:
            logger.warning("run.json keeps the earlier timings: %s", exc)

    def discard(self) -> None:
        """Remove the staging folder and whatever is in it."""
        shutil.rmtree(self.staging, ignore_errors=True)


def stage_outputs(
    out: str | os.PathLike[str],
    origins: pd.DataFrame,
    clusters: pd.DataFrame,
    meta: dict[str, Any],
    *,
    threshold: float = 0.5,
) -> StagedOutputs:
    """Write all batch outputs into a staging folder inside ``out``.

    Parameters
    ----------
    out
        The output folder (created if needed).
    origins
        The scored origins table.
    clusters
        The clusters table.
    meta
        The run metadata, written as ``run.json`` (its ``outputs`` key is filled in here).
    threshold
        Score from which origins/clusters are flagged (STIX export, report).

    Returns
    -------
    StagedOutputs
        Call :meth:`StagedOutputs.publish` to move the files into place.
    """
    dest = ensure_writable_dir(out)
    _remove_stale(dest)
    try:
        staging = Path(
            tempfile.mkdtemp(prefix=f".attrib-run-{os.getpid()}-", suffix=".part", dir=dest)
        )
    except OSError as exc:
        raise _explain(exc, dest) from None
    staged = StagedOutputs(dest, staging)
    table = origins_for_output(origins)
    run_id = str(meta.get("run_id") or "")
    writers: list[tuple[str, Callable[[Path], object]]] = [
        ("origins.parquet", lambda p: table.to_parquet(p, index=False)),
        ("origins.csv", lambda p: table.to_csv(p, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")),
        ("clusters.csv", lambda p: _clusters_csv(clusters).to_csv(p, index=False)),
        ("origins.ndjson", lambda p: write_ecs(table, p, run_id=run_id or None)),
        ("stix.json", lambda p: write_stix(table, clusters, p, threshold=threshold)),
        ("report.html", lambda p: write_html(table, clusters, p, meta, threshold=threshold)),
    ]
    meta["outputs"] = [str(dest / n) for n in OUTPUT_FILES]
    writers.append(("run.json", lambda p: p.write_text(_json(meta), encoding="utf-8")))
    current = dest
    try:
        for name, write in writers:
            current = dest / name
            write(staging / name)
    except OSError as exc:
        staged.discard()
        raise _explain(exc, current) from None
    except OutputError as exc:
        staged.discard()
        raise OutputError(str(exc).replace(str(staging / name), str(current))) from None
    except BaseException:
        staged.discard()
        raise
    logger.info("outputs staged in %s", staging)
    return staged


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_stale(dest: Path) -> None:
    """Remove staging folders left by runs that were killed (their process is gone)."""
    for p in dest.glob(".attrib-run-*.part"):
        try:
            pid = int(p.name.split("-")[2])
        except (IndexError, ValueError):
            continue
        if pid == os.getpid() or _alive(pid):
            continue
        logger.info("removing %s left by an interrupted run", p)
        shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _json(meta: dict[str, Any]) -> str:
    return json.dumps(meta, indent=2, default=str)
