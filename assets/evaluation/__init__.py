"""Evaluation stage: error metrics of every model's predictions."""
