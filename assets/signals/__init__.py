"""The last stage before the chain: target positions from the newest forecasts."""
