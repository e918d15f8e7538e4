"""Liveness, readiness and metrics (no authentication)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from attrib._version import __version__
from attrib.api.deps import StateDep

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
async def readyz(state: StateDep) -> JSONResponse:
    """Reference data (and the model, when configured) are loaded."""
    body = {
        "ready": state.ready, "data": state.data_version, "model": state.model_version,
        "store": str(state.settings.store) if state.settings.store else None,
    }  # fmt: skip
    return JSONResponse(body, status_code=200 if state.ready else 503)


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(state: StateDep) -> PlainTextResponse:
    """Prometheus text exposition."""
    return PlainTextResponse(state.metrics.render(), media_type="text/plain; version=0.0.4")
