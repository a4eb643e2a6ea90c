"""Forecasting models, their evaluation splits and error metrics; plain Python, no Dagster."""
