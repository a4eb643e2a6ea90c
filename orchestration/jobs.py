"""Jobs and asset selections over the whole graph."""

from dagster import AssetSelection, define_asset_job

INGEST_GROUP = "ingest"

# What the sensor re-runs when ingestion has stored new data: every stage after ingestion.
AFTER_INGEST = AssetSelection.all() - AssetSelection.groups(INGEST_GROUP)

pipeline_job = define_asset_job(
    "pipeline_job",
    selection=AssetSelection.all(),
    description="The whole graph: ingest the latest data, retrain, evaluate. `make run` and the nightly "
    "retraining schedule run it.",
)
