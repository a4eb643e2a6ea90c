"""Nightly retraining: the whole pipeline on a cron schedule (02:00 UTC unless configured)."""

from dagster import DefaultScheduleStatus, ScheduleDefinition, build_schedule_from_partitioned_job

from orchestration.jobs import dex_job, pipeline_job
from orchestration.settings import Settings


def build_nightly_schedule(settings: Settings) -> ScheduleDefinition:
    """Schedule `pipeline_job` at the configured cron time; running from the start of `dagster dev`."""
    return ScheduleDefinition(
        name="nightly_retraining",
        job=pipeline_job,
        cron_schedule=settings.nightly_cron,
        execution_timezone=settings.schedule_timezone,
        default_status=DefaultScheduleStatus.RUNNING,
        description=(
            "Ingest the newest data, retrain each neural model whose training or validation bars "
            "changed (the others read back their checkpoints; ARIMA refits), forecast the newest bar "
            "and push the signal."
        ),
    )


def build_dex_schedule() -> ScheduleDefinition:
    """Ingest each finished UTC day of DEX swaps at 00:30 UTC; off until a DEX source is configured."""
    return build_schedule_from_partitioned_job(
        dex_job,
        name="daily_dex_ingest",
        hour_of_day=0,
        minute_of_hour=30,
        default_status=DefaultScheduleStatus.STOPPED,
    )
