"""The `labels` asset: one label row per stored bar, none where the future is missing."""

from assets.warehouse import read_table
from orchestration.resources import WarehouseResource


def test_every_bar_is_labelled_and_the_last_horizon_is_not(evaluated):
    settings, _ = evaluated
    with WarehouseResource(database=str(settings.warehouse_path)).get_connection() as conn:
        daily = read_table(conn, "SELECT * FROM labels WHERE interval = '1d' ORDER BY ts")
        bars = read_table(conn, "SELECT count(*) AS n FROM ohlcv WHERE interval = '1d'")
    assert len(daily) == bars["n"].iloc[0]
    assert daily["triple_barrier"].iloc[-10:].isna().all()
    assert daily["triple_barrier"].iloc[20:-10].notna().all()
    assert set(daily["direction_class"].dropna().unique()) == {0, 1, 2, 3, 4}
