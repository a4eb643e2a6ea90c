"""The last stage: signals pushed to the on-chain risk guard, and the paper-trading books read back."""
