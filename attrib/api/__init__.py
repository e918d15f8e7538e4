"""attrib's HTTP enrichment service (the ``api`` extra: FastAPI under uvicorn).

>>> from attrib.api import create_app  # doctest: +SKIP
>>> app = create_app()  # doctest: +SKIP
"""

from __future__ import annotations

__all__ = ["ServiceSettings", "create_app"]

try:
    from attrib.api.app import create_app
    from attrib.api.settings import ServiceSettings
except ImportError as exc:  # pragma: no cover - depends on the extra
    raise ImportError(
        f"the attrib service needs the 'api' extra: pip install 'attrib[api]' ({exc})"
    ) from exc
