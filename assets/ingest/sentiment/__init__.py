"""News and social sentiment: text sources, lexicon scoring, bar aggregates and the Fear & Greed index."""
