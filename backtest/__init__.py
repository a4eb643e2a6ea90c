"""Forecasts into trades, trades into honest numbers: engine, strategies, sizing, labels, metrics.

Plain Python and numba, no Dagster: the evaluation assets, the Table VI script and the benchmark
all call the same `run_backtest`.
"""
