"""Lexicon scores: right direction on labelled headlines, the contract's columns, title and body both read."""

import pandas as pd
import pytest

from assets.contracts import SentimentItemsTable
from assets.ingest.sentiment.items import ITEM_COLUMNS
from assets.ingest.sentiment.scoring import score_items
from assets.validation import validate_rows
from tests.assets.ingest.sentiment.conftest import FIXTURES


def _items(titles: list[str], bodies: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": "test",
            "item_id": [f"h{i}" for i in range(len(titles))],
            "published_at": pd.Timestamp("2024-03-01", tz="UTC"),
            "title": titles,
            "body": bodies or [""] * len(titles),
            "url": "",
        },
        columns=ITEM_COLUMNS,
    )


@pytest.fixture(scope="module")
def labelled() -> pd.DataFrame:
    headlines = pd.read_csv(FIXTURES / "labelled_headlines.csv")
    assert set(headlines["label"]) == {"positive", "negative", "neutral"}
    return score_items(_items(headlines["headline"].tolist())).assign(label=headlines["label"])


@pytest.mark.parametrize("score", ["vader_compound", "lm_polarity"])
def test_positive_headlines_score_above_negative_ones(labelled, score):
    means = labelled.groupby("label")[score].mean()
    assert means["positive"] > 0.3
    assert means["negative"] < -0.3
    assert abs(means["neutral"]) < 0.1


def test_output_has_exactly_the_contract_columns_and_validates(labelled):
    scored = labelled.drop(columns="label")
    assert list(scored.columns) == list(SentimentItemsTable.to_schema().columns)
    assert validate_rows(scored, SentimentItemsTable).rejected.empty


def test_the_body_counts_as_well_as_the_title():
    title_only, with_body = score_items(
        _items(["Exchange publishes update"] * 2, ["", "Users suffer heavy losses after fraud"])
    ).itertuples()
    assert with_body.vader_compound < title_only.vader_compound
    assert with_body.lm_polarity < title_only.lm_polarity == 0


def test_no_items_give_an_empty_scored_frame():
    scored = score_items(_items([]))
    assert scored.empty and list(scored.columns) == list(SentimentItemsTable.to_schema().columns)
    assert validate_rows(scored, SentimentItemsTable).rejected.empty
