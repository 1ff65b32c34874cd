"""fireform: discover ecologically grounded burned-area formulas for land models."""

from fireform.drivers import Drivers, catalog
from fireform.exceptions import FireformError

__version__ = "0.1.0"

__all__ = ["Drivers", "FireformError", "catalog", "__version__"]
