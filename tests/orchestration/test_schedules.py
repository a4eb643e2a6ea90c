from dataclasses import replace
from datetime import UTC, datetime

import pytest
from dagster import DagsterInvalidDefinitionError, DefaultScheduleStatus, build_schedule_context

from orchestration.schedules import build_nightly_schedule


def test_nightly_at_two_utc_by_default_and_running(settings):
    schedule = build_nightly_schedule(settings)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", "UTC")
    assert schedule.default_status == DefaultScheduleStatus.RUNNING


def test_tick_requests_the_whole_pipeline(settings):
    schedule = build_nightly_schedule(settings)
    context = build_schedule_context(scheduled_execution_time=datetime(2026, 11, 22, 2, tzinfo=UTC))
    data = schedule.evaluate_tick(context)
    assert len(data.run_requests) == 1
    assert data.run_requests[0].tags["dagster/schedule_name"] == "nightly_retraining"


def test_cron_and_zone_are_configurable(settings):
    schedule = build_nightly_schedule(
        replace(settings, nightly_cron="15 4 * * 1-5", schedule_timezone="Asia/Tokyo")
    )
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("15 4 * * 1-5", "Asia/Tokyo")


def test_invalid_cron_is_refused_at_load(settings):
    with pytest.raises(DagsterInvalidDefinitionError, match="cron"):
        build_nightly_schedule(replace(settings, nightly_cron="every night"))
