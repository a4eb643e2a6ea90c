"""Resources per deployment: the DuckDB warehouse and where each input stream is read from."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, EnvVar
from dagster_duckdb import DuckDBResource
from pydantic import Field

from assets.ingest.http import HttpClient
from onchain.client import Limits
from onchain.deployment import open_local, open_rpc
from onchain.jitter import SubmissionJitter
from onchain.keeper import RiskGuard
from onchain.keypairs import keypair_from_env
from onchain.paper import PaperUnits, paper_limits
from orchestration.settings import (
    AUTHORITY_KEYPAIR_ENV,
    CRYPTOPANIC_TOKEN_ENV,
    FRED_API_KEY_ENV,
    KEEPER_KEYPAIR_ENV,
    LOCAL_CLUSTER,
    OnchainSettings,
    Settings,
)

BTC_USD_DAILY_FILE = "btc_usd_daily_yahoo_2018-09-17_2024-09-16.csv"
BTCUSDT_HOURLY_FILE = "btcusdt_1h_binance_2017-08-17_2022-06-15.csv.gz"
ECB_FX_FILE = "ecb_eur_fx_daily_2015_2026.csv.gz"
US_CPI_FILE = "us_cpi_u_sa_monthly_2015_2026.csv"


class WarehouseResource(DuckDBResource):
    """The pipeline's DuckDB file, opened per use so the UI, sensors and runs never hold it for long.

    Adds two guarantees to `DuckDBResource`: the folder of the file exists, and every session
    works in UTC (DuckDB otherwise converts TIMESTAMPTZ values to the machine's local zone
    when they are fetched into pandas).
    """

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self.database != ":memory:":
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with super().get_connection() as conn:
            conn.execute("SET TimeZone = 'UTC'")
            yield conn


class TrainingResource(ConfigurableResource):
    """How models are trained in this deployment, and where checkpoints and report images go."""

    profile: str = Field(description="'quick' (short, early-stopped) or 'paper' (the paper's epochs)")
    artifacts_dir: str = Field(
        description="checkpoints/<profile>/<model>.pt and reports/forecast_<model>.png"
    )

    def checkpoint(self, model: str) -> Path:
        return Path(self.artifacts_dir) / "checkpoints" / self.profile / f"{model}.pt"

    def report(self, name: str) -> Path:
        return Path(self.artifacts_dir) / "reports" / name


class SignalResource(ConfigurableResource):
    """Which model's newest forecast, traded by which strategy, becomes the signal."""

    model: str = Field(description="a trained model, e.g. 'cryptomamba-v'")
    strategy: str = Field(description="a backtest strategy: vanilla, smart, smart_w_short, classifier, kelly")


class RegimeResource(ConfigurableResource):
    """How regimes are segmented into tasks for the meta-learners."""

    method: str = Field(description="'gmm' (causal mixture) or 'changepoint' (retrospective PELT)")


class RiskGuardResource(ConfigurableResource):
    """Where the final asset pushes signals: the persistent in-process LiteSVM, or a cluster's RPC."""

    cluster: str = Field(description="'local' (LiteSVM, state in a file), 'devnet', 'localnet' or an RPC URL")
    state_path: str = Field(description="the local cluster's state file (accounts and clock)")
    keys_dir: str = Field(description="where the local program id, authority and keeper keypairs are made")
    program_id: str | None = Field(default=None, description="the deployed program on a real cluster")
    authority_keypair: str | None = Field(default=None, description="keypair path or JSON (real cluster)")
    keeper_keypair: str | None = Field(default=None, description="keypair path or JSON (real cluster)")
    priority_fee_micro_lamports: int = 0
    rpc_attempts: int = 5
    submit_jitter_secs: float = 0.0
    paper_capital_usd: float = 10_000.0
    lot_size: float = 0.0001
    max_data_age_hours: float = OnchainSettings.max_data_age_hours

    @contextmanager
    def open(self) -> Iterator[RiskGuard]:
        """The risk guard for one run (a local cluster's state is saved when the block ends cleanly)."""
        if self.cluster == LOCAL_CLUSTER:
            with open_local(Path(self.state_path), Path(self.keys_dir)) as guard:
                yield guard
            return
        # The values arrive through Dagster's EnvVar; parsing them names the variable in any error.
        keys = {
            AUTHORITY_KEYPAIR_ENV: self.authority_keypair or "",
            KEEPER_KEYPAIR_ENV: self.keeper_keypair or "",
        }
        yield open_rpc(
            self.cluster,
            self.program_id,
            keypair_from_env(AUTHORITY_KEYPAIR_ENV, keys),
            keypair_from_env(KEEPER_KEYPAIR_ENV, keys),
            priority_fee_micro_lamports=self.priority_fee_micro_lamports,
            max_attempts=self.rpc_attempts,
        )

    def units(self) -> PaperUnits:
        return PaperUnits(lot_size=self.lot_size)

    def limits(self) -> Limits:
        return paper_limits(self.paper_capital_usd, units=self.units())

    def jitter(self) -> SubmissionJitter:
        return SubmissionJitter(self.submit_jitter_secs)


class _OfflineFiles(ConfigurableResource):
    """A folder of real, published data files: the offline default of a stream."""

    data_dir: str

    def path(self, file_name: str) -> Path:
        """Path of one shipped file, with an error that says where it was looked for."""
        path = Path(self.data_dir) / file_name
        if not path.is_file():
            raise FileNotFoundError(
                f"offline data file {file_name!r} not found in {self.data_dir!r}; "
                "set MAMBAQUANT_DATA_DIR to the folder that holds it"
            )
        return path


class MarketSources(_OfflineFiles):
    """Yahoo daily and Binance hourly files; Binance's klines API too when its URL is set."""

    binance_url: str | None = None

    def http(self) -> HttpClient:
        # Binance allows 1,200 request weight a minute; a klines page costs 2.
        return HttpClient(min_interval_s=0.2)


class MacroSources(_OfflineFiles):
    """ECB FX and US CPI files; the ECB and FRED APIs too when their URLs are set."""

    ecb_url: str | None = None
    fred_url: str | None = None
    fred_series: list[str] = Field(default_factory=list)
    fred_api_key: str | None = None

    def http(self) -> HttpClient:
        # FRED allows 120 requests a minute per key.
        return HttpClient(min_interval_s=0.5)


class SentimentSources(ConfigurableResource):
    """RSS/Atom feeds, CryptoPanic and the Fear & Greed index; none is read while unset (no offline text)."""

    feed_urls: list[str] = Field(default_factory=list)
    cryptopanic_url: str | None = None
    cryptopanic_token: str | None = None
    fear_greed_url: str | None = None

    def http(self) -> HttpClient:
        return HttpClient(min_interval_s=1.0)


class DexSources(ConfigurableResource):
    """Solana JSON-RPC and/or a folder of exported trade files, for the configured pools."""

    rpc_url: str | None = None
    pools: list[str] = Field(default_factory=list)
    trade_files_dir: str | None = None

    def http(self) -> HttpClient:
        # Public RPC nodes allow about 10 requests a second per IP.
        return HttpClient(min_interval_s=0.12)


def build_resources(settings: Settings) -> dict[str, ConfigurableResource]:
    """The resources of one deployment, keyed by the names the assets ask for."""
    sources = settings.sources
    data_dir = str(settings.data_dir)
    return {
        "warehouse": WarehouseResource(database=str(settings.warehouse_path)),
        "training": TrainingResource(
            profile=settings.training_profile, artifacts_dir=str(settings.artifacts)
        ),
        "regime_settings": RegimeResource(method=settings.regime_method),
        "signal_settings": SignalResource(model=settings.signal_model, strategy=settings.signal_strategy),
        "market_sources": MarketSources(data_dir=data_dir, binance_url=sources.binance_url),
        "macro_sources": MacroSources(
            data_dir=data_dir,
            ecb_url=sources.ecb_url,
            fred_url=sources.fred_url,
            fred_series=list(sources.fred_series),
            fred_api_key=EnvVar(FRED_API_KEY_ENV) if sources.has_fred_api_key else None,
        ),
        "sentiment_sources": SentimentSources(
            feed_urls=list(sources.feed_urls),
            cryptopanic_url=sources.cryptopanic_url,
            cryptopanic_token=EnvVar(CRYPTOPANIC_TOKEN_ENV) if sources.has_cryptopanic_token else None,
            fear_greed_url=sources.fear_greed_url,
        ),
        "risk_guard": _risk_guard(settings),
        "dex_sources": DexSources(
            rpc_url=sources.solana_rpc_url,
            pools=list(sources.dex_pools),
            trade_files_dir=str(sources.trade_files_dir) if sources.trade_files_dir else None,
        ),
    }


def _risk_guard(settings: Settings) -> RiskGuardResource:
    onchain = settings.onchain
    return RiskGuardResource(
        cluster=onchain.cluster,
        state_path=str(onchain.state_path or settings.onchain_dir / "local_cluster.json"),
        keys_dir=str(onchain.keys_dir or settings.onchain_dir / "keys"),
        program_id=onchain.program_id,
        authority_keypair=EnvVar(AUTHORITY_KEYPAIR_ENV) if onchain.has_authority_keypair else None,
        keeper_keypair=EnvVar(KEEPER_KEYPAIR_ENV) if onchain.has_keeper_keypair else None,
        priority_fee_micro_lamports=onchain.priority_fee_micro_lamports,
        rpc_attempts=onchain.rpc_retries,
        submit_jitter_secs=onchain.submit_jitter_secs,
        paper_capital_usd=onchain.paper_capital_usd,
        lot_size=onchain.lot_size,
        max_data_age_hours=onchain.max_data_age_hours,
    )
