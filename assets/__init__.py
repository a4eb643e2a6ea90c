"""Dagster asset definitions, grouped by pipeline stage, and the plain logic they call."""
