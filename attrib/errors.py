"""The one exception tree of attrib.

Every error attrib raises on purpose derives from :class:`AttribError`; the CLI turns any of
them into one line on stderr and a non-zero exit code, never a traceback.

::

    AttribError
    ├── InputError                 input cannot be used at all
    │   ├── UnreadableFileError    missing, unreadable, undecompressable
    │   ├── UnknownFormatError     content matches no reader (or not the forced one)
    │   ├── FormatError            a file of a known format is malformed (names file/line/field)
    │   └── TooManyBadRowsError    row-level garbage above ``--max-bad-rows``
    ├── DataError                  bundled or user reference data is missing/corrupt
    ├── ModelError                 a model file is missing, tampered with or incompatible
    ├── StoreError                 the sightings store is corrupt or locked
    ├── OutputError                an output cannot be written (unwritable dir, full disk)
    └── ConfigError                a configuration value is invalid
"""

from __future__ import annotations

__all__ = [
    "AttribError",
    "ConfigError",
    "DataError",
    "FormatError",
    "InputError",
    "ModelError",
    "OutputError",
    "StoreError",
    "TooManyBadRowsError",
    "UnknownFormatError",
    "UnreadableFileError",
]


class AttribError(Exception):
    """Base class of every error attrib raises on purpose."""

    exit_code: int = 1


class InputError(AttribError):
    """An input cannot be used."""

    exit_code = 2


class UnreadableFileError(InputError):
    """A file is missing, unreadable or cannot be decompressed."""


class UnknownFormatError(InputError):
    """A file's content matches no reader, or not the reader that was forced."""


class FormatError(InputError):
    """A file of a known format is malformed.

    Parameters
    ----------
    path
        The file.
    reason
        What is wrong, in words.
    line
        1-based line (or record) number, when known.
    field
        The field concerned, when known.
    """

    def __init__(
        self, path: str, reason: str, line: int | None = None, field: str | None = None
    ) -> None:
        self.path = str(path)
        self.reason = reason
        self.line = line
        self.field = field
        where = self.path
        if line is not None:
            where += f":{line}"
        if field is not None:
            where += f" (field {field!r})"
        super().__init__(f"{where}: {reason}")


class TooManyBadRowsError(InputError):
    """Row-level garbage in a file exceeded the allowed number of bad rows."""


class DataError(AttribError):
    """Reference data (bundled or user-supplied) is missing, foreign or corrupt."""

    exit_code = 3


class ModelError(AttribError):
    """A model file is missing, was tampered with, or does not fit this version."""

    exit_code = 4


class StoreError(AttribError):
    """The sightings store is corrupt, locked or from an incompatible version."""

    exit_code = 5


class OutputError(AttribError):
    """An output cannot be written (unwritable folder, full disk, ...)."""

    exit_code = 6


class ConfigError(AttribError):
    """A configuration value is invalid."""

    exit_code = 2
