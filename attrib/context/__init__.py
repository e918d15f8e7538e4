"""The organisation's context: :class:`OrgContext` (``org.toml``) and its inference from data.

- :mod:`attrib.context.org` — the context and its file format;
- :mod:`attrib.context.infer` — what the file leaves empty, inferred from events and enrichment.
"""

from attrib.context.infer import complete_context, infer_context
from attrib.context.org import OrgContext

__all__ = ["OrgContext", "complete_context", "infer_context"]
