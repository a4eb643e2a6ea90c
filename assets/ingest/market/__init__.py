"""Market OHLCV from exchanges and data vendors."""
