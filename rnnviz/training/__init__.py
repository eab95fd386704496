"""Truncated-BPTT training, evaluation and perplexity; Chainer's Trainer, updaters and extensions."""
from . import extension, extensions, triggers, updaters
from .bptt import BPTTUpdater
from .extension import PRIORITY_EDITOR, PRIORITY_READER, PRIORITY_WRITER, Extension, make_extension
from .loop import Trainer
from .triggers import get_trigger
from .updaters import StandardUpdater, Updater
from .evaluate import evaluate_perplexity
from .trainer import History, LMTrainer

updater = updaters  # Chainer v1 spelled it training.updater.StandardUpdater

__all__ = ["BPTTUpdater", "Extension", "History", "LMTrainer", "PRIORITY_EDITOR", "PRIORITY_READER",
           "PRIORITY_WRITER", "StandardUpdater", "Trainer", "Updater", "evaluate_perplexity",
           "extension", "extensions", "get_trigger", "make_extension", "triggers", "updaters"]
