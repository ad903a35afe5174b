"""PPR Workbench: personalized prompt-tuning for cold-start sequential recommendation."""

__version__ = "0.1.0"
