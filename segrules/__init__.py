"""segrules: declarative customer segmentation rules."""

__version__ = "0.1.0"
