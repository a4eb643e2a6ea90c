"""Market regimes and the meta-learning tasks built from them."""
