"""Derived series: training labels (and, later, indicators and regime inputs)."""
