"""The wiring: ``analyze()`` runs read -> enrich -> features -> cluster -> score -> outputs.

:mod:`attrib.pipeline.run` holds :func:`analyze`; the private modules hold the two front
engines (materialised and streamed), run statistics and progress. No stage logic lives here.
"""

from attrib.pipeline.options import RunOptions
from attrib.pipeline.run import DEFAULT_THRESHOLD, Analysis, analyze

__all__ = ["DEFAULT_THRESHOLD", "Analysis", "RunOptions", "analyze"]
