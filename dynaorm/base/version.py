"""The package's version, importable from any layer (``dynaorm.__version__`` re-exports it)."""

__version__ = "0.1.0"
