"""The package version, alone in a leaf module.

``cache`` keys its files by it and the audit documents record it; they import it
from here so that nothing below the package root has to import the root (which
would put every module in one import cycle).
"""

__version__ = "0.1.0"
