"""Which pools to read trades from: the pool account, its DEX program and the token pair it trades.

Every address here was checked against published program constants, SDKs and integrations; a wrong
address does not fail loudly, it just finds no trades (or trades of another pool), so none is guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

RAYDIUM_AMM_V4_PROGRAM = "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8"
# The PDA that owns the reserves of every Raydium AMM v4 pool (Raydium's "AMM authority").
RAYDIUM_AMM_V4_AUTHORITY = "5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1"
ORCA_WHIRLPOOL_PROGRAM = "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc"
METEORA_DLMM_PROGRAM = "LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo"

WSOL_MINT = "So11111111111111111111111111111111111111112"
USDC_MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


@dataclass(frozen=True)
class PoolConfig:
    """One pool; prices are quoted as `quote_mint` per `base_mint` whatever order the DEX stores them in.

    `vault_owner` is the owner of the pool's reserve token accounts, which is how swaps are found in
    token balances. It defaults to the pool address (right for Orca Whirlpool and Meteora DLMM); Raydium
    AMM v4 reserves are owned by the Raydium AMM authority instead, which every v4 pool shares: a
    transaction that also touches another v4 pool shows that pool's other mint and is skipped, but one
    touching a second v4 pool of the same pair would have both pools' reserves summed.
    """

    name: str
    address: str
    program_id: str
    base_mint: str
    quote_mint: str
    vault_owner: str | None = None

    @property
    def reserve_owner(self) -> str:
        """The owner whose token accounts in the base and quote mints are this pool's reserves."""
        return self.vault_owner or self.address


RAYDIUM_SOL_USDC = PoolConfig(
    name="raydium-amm-v4-sol-usdc",
    address="58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2",
    program_id=RAYDIUM_AMM_V4_PROGRAM,
    base_mint=WSOL_MINT,
    quote_mint=USDC_MINT,
    vault_owner=RAYDIUM_AMM_V4_AUTHORITY,
)
ORCA_SOL_USDC = PoolConfig(
    name="orca-whirlpool-sol-usdc",
    address="Czfq3xZZDmsdGdUyrNLtRhGc47cXcZtLG4crryfu44zE",
    program_id=ORCA_WHIRLPOOL_PROGRAM,
    base_mint=WSOL_MINT,
    quote_mint=USDC_MINT,
)
METEORA_SOL_USDC = PoolConfig(
    name="meteora-dlmm-sol-usdc",
    address="5rCf1DM8LjKTw4YqhnoLcngyZYeNnQqztScTogYHAS6",
    program_id=METEORA_DLMM_PROGRAM,
    base_mint=WSOL_MINT,
    quote_mint=USDC_MINT,
)

EXAMPLE_POOLS: tuple[PoolConfig, ...] = (RAYDIUM_SOL_USDC, ORCA_SOL_USDC, METEORA_SOL_USDC)
