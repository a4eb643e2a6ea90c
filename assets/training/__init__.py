"""Training stage: fitted models and the forecasts they make, into the `predictions` table."""
