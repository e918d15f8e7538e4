"""The package version, in one place that every module may import."""

__all__ = ["__version__"]

__version__ = "0.1.0"
