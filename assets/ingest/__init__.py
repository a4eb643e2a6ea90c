"""Ingest stage: sources → contract → DuckDB."""
