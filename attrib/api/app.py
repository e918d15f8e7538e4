"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from attrib._version import __version__
from attrib.api.middleware import GuardMiddleware
from attrib.api.routes import enrich, health, ip, score
from attrib.api.settings import ServiceSettings
from attrib.api.state import ServiceState
from attrib.errors import AttribError

__all__ = ["create_app"]

logger = logging.getLogger(__name__)


def create_app(settings: ServiceSettings | None = None) -> Any:
    """Build the ASGI application (FastAPI app wrapped in the guard middleware).

    Parameters
    ----------
    settings
        Service settings; default: from ``ATTRIB_*`` environment variables.

    Returns
    -------
    ASGI application
        Ready for uvicorn.
    """
    st = settings or ServiceSettings()
    state = ServiceState(st)
    access = logging.getLogger("attrib.api.access")
    if st.access_log and not access.handlers:  # one line per request, on stderr (each worker)
        h = logging.StreamHandler()
        h.setFormatter(logging.Formatter("%(asctime)s access %(message)s"))
        access.addHandler(h)
        access.setLevel(logging.INFO)
        access.propagate = False

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.load()
        logger.info(
            "attrib service ready: data %s, model %s", state.data_version, state.model_version
        )
        yield

    app = FastAPI(
        title="attrib enrichment service",
        version=__version__,
        description="What is this origin? ECS-shaped enrichment, network type, confounder tags, "
        "and attrib's sightings, scores and reasons.",
        lifespan=lifespan,
    )
    app.state.attrib = state
    for r in (health.router, ip.router, enrich.router, score.router):
        app.include_router(r)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errs = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in exc.errors()[:20]
        ]
        return JSONResponse({"error": "invalid request", "details": errs}, status_code=422)

    @app.exception_handler(AttribError)
    async def _attrib_error(_: Request, exc: AttribError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error")
        return JSONResponse({"error": "internal error"}, status_code=500)

    return GuardMiddleware(app, state)
