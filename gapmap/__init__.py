"""gapmap: see where domestic abuse and sexual violence provision falls short.

Pure functions on (Geo)DataFrames, one module per concern; no UI imports.
"""

from gapmap.errors import ConfigError, GapmapInputError, Problem, ValidationReport

__version__ = "0.1.0"

__all__ = ["ConfigError", "GapmapInputError", "Problem", "ValidationReport", "__version__"]
