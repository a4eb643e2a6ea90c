"""Contract of the `dex_trades` table: swaps against one configured Solana DEX pool."""

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from assets.contracts import checks
from assets.contracts.types import Text, UtcTimestamp

BASE58_SIGNATURE = r"^[1-9A-HJ-NP-Za-km-z]{64,88}$"
BASE58_ADDRESS = r"^[1-9A-HJ-NP-Za-km-z]{32,44}$"


class DexTradesTable(pa.DataFrameModel):
    """One swap per (signature, instruction_index, pool), amounts in token units (decimals applied)."""

    signature: Text = pa.Field(str_matches=BASE58_SIGNATURE)
    instruction_index: Series[int] = pa.Field(ge=0, description="top-level instruction that swapped")
    slot: Series[int] = pa.Field(ge=0)
    block_time: UtcTimestamp
    pool: Text = pa.Field(str_matches=BASE58_ADDRESS)
    program: Text = pa.Field(str_matches=BASE58_ADDRESS, description="DEX program id")
    base_mint: Text = pa.Field(str_matches=BASE58_ADDRESS)
    quote_mint: Text = pa.Field(str_matches=BASE58_ADDRESS)
    side: Text = pa.Field(isin=["buy", "sell"], description="the trader's side on the base token")
    base_amount: Series[float] = pa.Field(gt=0)
    quote_amount: Series[float] = pa.Field(gt=0)
    price: Series[float] = pa.Field(gt=0, description="quote per base")
    trader: Text = pa.Field(str_matches=BASE58_ADDRESS, description="fee payer")

    class Config:
        strict = True
        coerce = True
        unique = ["signature", "instruction_index", "pool"]

    @pa.dataframe_check(error="price == quote_amount / base_amount")
    def price_is_the_ratio(cls, frame: pd.DataFrame) -> Series[bool]:
        return pd.Series(
            np.isclose(frame["price"], frame["quote_amount"] / frame["base_amount"], rtol=1e-9), frame.index
        )

    @pa.check("block_time", error="block_time not in the future")
    def not_in_future(cls, ts: Series) -> Series[bool]:
        return checks.not_in_future(ts)

    @pa.dataframe_check(error="rows sorted by (block_time, slot) within pool")
    def sorted_in_time(cls, frame: pd.DataFrame) -> Series[bool]:
        return checks.increasing_within(frame, ["pool"], "block_time", strict=False)
