"""Nightly retraining: the whole pipeline on a cron schedule (02:00 UTC unless configured)."""

from dagster import DefaultScheduleStatus, ScheduleDefinition

from orchestration.jobs import pipeline_job
from orchestration.settings import Settings


def build_nightly_schedule(settings: Settings) -> ScheduleDefinition:
    """Schedule `pipeline_job` at the configured cron time; running from the start of `dagster dev`."""
    return ScheduleDefinition(
        name="nightly_retraining",
        job=pipeline_job,
        cron_schedule=settings.nightly_cron,
        execution_timezone=settings.schedule_timezone,
        default_status=DefaultScheduleStatus.RUNNING,
        description="Ingest the newest data and retrain every model.",
    )
