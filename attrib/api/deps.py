"""FastAPI dependencies, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from attrib.api.state import ServiceState

__all__ = ["ReadyStateDep", "StateDep", "get_ready_state", "get_state"]


async def get_state(request: Request) -> ServiceState:
    """The service state stored on the app.

    Parameters
    ----------
    request
        The current request.

    Returns
    -------
    ServiceState
        Shared state.
    """
    state: ServiceState = request.app.state.attrib
    return state


async def get_ready_state(request: Request) -> ServiceState:
    """The service state, or 503 while data is still loading.

    Parameters
    ----------
    request
        The current request.

    Returns
    -------
    ServiceState
        Shared, loaded state.
    """
    state: ServiceState = request.app.state.attrib
    if not state.ready:
        raise HTTPException(503, "reference data is still loading")
    return state


StateDep = Annotated[ServiceState, Depends(get_state)]
ReadyStateDep = Annotated[ServiceState, Depends(get_ready_state)]
