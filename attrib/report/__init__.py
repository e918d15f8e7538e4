"""Writers for what a run produces: ECS NDJSON, a STIX 2.1 bundle and the HTML report.

The tabular outputs (``origins.csv``/``.parquet``, ``clusters.csv``) are written with
:func:`attrib._atomic.write_table`; the modules here turn the origins and clusters tables into
formats other tools read.
"""

from __future__ import annotations

from attrib.report.batch import OUTPUT_FILES, StagedOutputs, stage_outputs
from attrib.report.ecs import ecs_documents, write_ecs
from attrib.report.html import render_html, write_html
from attrib.report.stix import stix_bundle, write_stix

__all__ = [
    "OUTPUT_FILES",
    "StagedOutputs",
    "ecs_documents",
    "render_html",
    "stage_outputs",
    "stix_bundle",
    "write_ecs",
    "write_html",
    "write_stix",
]
