"""Truncated-BPTT training, evaluation and perplexity."""
from .bptt import BPTTUpdater
from .evaluate import evaluate_perplexity
from .trainer import History, LMTrainer

__all__ = ["BPTTUpdater", "History", "LMTrainer", "evaluate_perplexity"]
