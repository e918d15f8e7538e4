"""Where bundled reference data and shipped models live.

The repository layout keeps ``data/`` and ``models/`` beside the ``attrib`` package (the
product's design card); an editable install (the README's) finds them there. Environment
overrides: ``ATTRIB_DATA_DIR``, ``ATTRIB_MODELS_DIR`` (read only by the CLI/service edge and
passed down; library functions take explicit paths and fall back to these defaults).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["REPO_ROOT", "default_data_dir", "default_models_dir"]

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
