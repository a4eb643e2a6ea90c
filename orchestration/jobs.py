"""Jobs and asset selections over the graph."""

from dagster import AssetSelection, define_asset_job

INGEST_GROUP = "ingest"
DEX_ASSETS = AssetSelection.assets("dex_trades", "dex_bars")
WALK_FORWARD = AssetSelection.assets("walk_forward")

# What the sensor re-runs when ingestion has stored new data: every stage after ingestion.
AFTER_INGEST = AssetSelection.all() - AssetSelection.groups(INGEST_GROUP)

pipeline_job = define_asset_job(
    "pipeline_job",
    selection=AssetSelection.all() - DEX_ASSETS - WALK_FORWARD,
    description="The whole unpartitioned graph: ingest the latest data, retrain, evaluate. `make run` "
    "and the nightly retraining schedule run it.",
)

dex_job = define_asset_job(
    "dex_job",
    selection=DEX_ASSETS,
    description="One UTC day of DEX swaps and the bars built from them (daily partitions).",
)

walk_forward_job = define_asset_job(
    "walk_forward_job",
    selection=WALK_FORWARD,
    description="One walk-forward window (a partition): retrain on all earlier data with a purged gap, "
    "score the next window. Backfill a range from the UI to walk the whole span.",
)
