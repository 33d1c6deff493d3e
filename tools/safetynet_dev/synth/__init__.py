"""Synthetic landing extracts (``generator.generate``) and damaged deliveries (``damage``)."""
