"""Tests of the sentiment sources, scoring and aggregation against hand-written fixtures."""
