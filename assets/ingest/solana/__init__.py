"""Solana DEX trades: swaps against configured pools, read over JSON-RPC or imported from exported files."""
