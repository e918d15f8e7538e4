"""Settings of the HTTP service: one pydantic-settings class at the service edge.

Values come from arguments of ``attrib serve`` or environment variables prefixed ``ATTRIB_``
(``ATTRIB_STORE``, ``ATTRIB_GEOIP_DIR``, ``ATTRIB_KEYS_DB``, ``ATTRIB_ENVIRONMENT``, ...).
Library code never reads the environment; only this class does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ServiceSettings", "default_keys_db"]


def default_keys_db() -> Path:
    """Default location of the API-key database.

    Returns
    -------
    pathlib.Path
        ``keys.db`` in :func:`attrib._paths.user_data_dir` (``$XDG_DATA_HOME/attrib``, default
        ``~/.local/share/attrib``).
    """
    from attrib._paths import user_data_dir

    return user_data_dir() / "keys.db"


class ServiceSettings(BaseSettings):
    """Configuration of ``attrib serve``.

    Outside ``environment="development"`` insecure choices are refused: authentication cannot
    be disabled and a key database must exist.
    """

    model_config = SettingsConfigDict(env_prefix="ATTRIB_", extra="ignore")

    environment: Literal["development", "production"] = "production"
    host: str = "127.0.0.1"
    port: int = Field(8787, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64)
    store: Path | None = None
    geoip_dir: Path | None = None
    model: Path | None = None
    keys_db: Path = Field(default_factory=default_keys_db)
    auth: bool = True
    max_batch: int = Field(10_000, ge=1, le=1_000_000)
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    rate_limit_rps: float = Field(500.0, gt=0)
    rate_limit_burst: int = Field(1000, ge=1)
    request_timeout_s: float = Field(30.0, gt=0)
    #: a connection whose request headers take longer than this is closed (slowloris)
    header_timeout_s: float = Field(10.0, gt=0)
    #: a request body that takes longer than this to arrive is answered 408
    body_timeout_s: float = Field(30.0, gt=0)
    #: connections (and requests in progress) at once; beyond, uvicorn answers 503
    max_connections: int = Field(512, ge=1)
    #: idle keep-alive connections are closed after this many seconds
    keep_alive_s: int = Field(5, ge=1)
    #: serve /docs, /redoc and /openapi.json without a key (default: behind the key)
    open_docs: bool = False
    #: serve /metrics without a key (default: behind the key)
    open_metrics: bool = False
    lookup_cache_size: int = Field(200_000, ge=0)
    access_log: bool = True

    @model_validator(mode="after")
    def _refuse_insecure(self) -> ServiceSettings:
        if self.environment != "development" and not self.auth:
            raise ValueError("authentication can only be disabled with environment=development")
        return self
