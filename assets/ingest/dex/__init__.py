"""Solana DEX trades into the warehouse, and the bars built from them."""
