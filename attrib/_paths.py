"""Where bundled reference data and shipped models live.

The repository layout keeps ``data/`` and ``models/`` beside the ``attrib`` package (the
product's design card); an editable install (the README's) finds them there. Environment
overrides: ``ATTRIB_DATA_DIR``, ``ATTRIB_MODELS_DIR`` (read only by the CLI/service edge and
passed down; library functions take explicit paths and fall back to these defaults).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["REPO_ROOT", "default_data_dir", "default_models_dir", "user_cache_dir", "user_data_dir"]

REPO_ROOT = Path(__file__).resolve().parents[1]


def default_data_dir() -> Path:
    """The bundled ``data/`` folder.

    Returns
    -------
    pathlib.Path
        ``<repo>/data``.
    """
    return REPO_ROOT / "data"


def default_models_dir() -> Path:
    """The shipped ``models/`` folder.

    Returns
    -------
    pathlib.Path
        ``<repo>/models``.
    """
    return REPO_ROOT / "models"


def _xdg(environ: Mapping[str, str] | None, var: str, fallback: str) -> Path:
    env = os.environ if environ is None else environ
    base = env.get(var, "")
    return (Path(base) if base and Path(base).is_absolute() else Path.home() / fallback) / "attrib"


def user_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user's cache folder for attrib (compiled databases; safe to delete).

    Parameters
    ----------
    environ
        The environment to read ``XDG_CACHE_HOME`` from (default: ``os.environ``).

    Returns
    -------
    pathlib.Path
        ``$XDG_CACHE_HOME/attrib``, else ``~/.cache/attrib``.
    """
    return _xdg(environ, "XDG_CACHE_HOME", ".cache")


def user_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user's folder for attrib's state (API keys, a default sightings store).

    Parameters
    ----------
    environ
        The environment to read ``XDG_DATA_HOME`` from (default: ``os.environ``; the CLI and
        service edge call this, library functions take explicit paths).

    Returns
    -------
    pathlib.Path
        ``$XDG_DATA_HOME/attrib`` when that variable holds an absolute path, else
        ``~/.local/share/attrib`` (the XDG base-directory rule); never the working directory.
    """
    return _xdg(environ, "XDG_DATA_HOME", ".local/share")
