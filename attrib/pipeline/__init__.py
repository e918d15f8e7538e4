"""The wiring: ``analyze()`` runs read -> enrich -> features -> cluster -> score -> outputs.

:mod:`attrib.pipeline.run` holds :func:`analyze`; the private modules hold the two front
engines (materialised and streamed), run statistics and progress. No stage logic lives here.
The public names load on first use, so a light command (``attrib read``) can use the progress
line without importing the clustering and scoring stages.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["DEFAULT_THRESHOLD", "Analysis", "RunOptions", "analyze", "byte_fraction", "for_run"]

_LAZY = {
    "RunOptions": "attrib.pipeline.options",
    "DEFAULT_THRESHOLD": "attrib.pipeline.run",
    "Analysis": "attrib.pipeline.run",
    "analyze": "attrib.pipeline.run",
    "byte_fraction": "attrib.pipeline._progress",  # the progress line, for the CLI's commands
    "for_run": "attrib.pipeline._progress",
}

if TYPE_CHECKING:  # pragma: no cover
    from attrib.pipeline._progress import byte_fraction as byte_fraction
    from attrib.pipeline._progress import for_run as for_run
    from attrib.pipeline.options import RunOptions as RunOptions
    from attrib.pipeline.run import DEFAULT_THRESHOLD as DEFAULT_THRESHOLD
    from attrib.pipeline.run import Analysis as Analysis
    from attrib.pipeline.run import analyze as analyze


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'attrib.pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
