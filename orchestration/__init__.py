"""Dagster wiring of the pipeline: settings, resources, jobs, schedules, sensors and the `Definitions`."""
