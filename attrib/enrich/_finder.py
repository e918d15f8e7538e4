"""Where users' ``.mmdb`` files are looked for (no pandas, no maxminddb: the quick path asks)."""

from __future__ import annotations

import os
from pathlib import Path

from attrib.errors import DataError

__all__ = ["STANDARD_DIRS", "find_mmdb_files"]

#: geoipupdate's standard folders, searched when no folder is given.
STANDARD_DIRS: tuple[str, ...] = ("/usr/share/GeoIP", "/usr/local/share/GeoIP", "/var/lib/GeoIP")


def find_mmdb_files(geoip_dir: str | os.PathLike[str] | None) -> list[Path]:
    """The ``.mmdb`` files to use: in ``geoip_dir`` if given, else geoipupdate's folders.

    Raises
    ------
    attrib.errors.DataError
        ``geoip_dir`` was given but is not a folder or a ``.mmdb`` file.
    """
    if geoip_dir is not None:
        p = Path(geoip_dir)
        if p.is_file():
            return [p]
        if not p.is_dir():
            raise DataError(f"{p}: GeoIP folder does not exist")
        return sorted(p.glob("*.mmdb"))
    out: list[Path] = []
    for d in STANDARD_DIRS:
        p = Path(d)
        if p.is_dir():
            out += sorted(p.glob("*.mmdb"))
    return out
