"""The version of occamlab (also ``occamlab.__version__``)."""

__version__ = "0.1.0"
