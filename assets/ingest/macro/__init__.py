"""Macro series (ECB reference rates, US CPI, FRED) with the time each value became public."""
