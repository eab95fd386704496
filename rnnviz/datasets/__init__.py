"""Data for the lessons: the shipped KJV corpus, the Penn Treebank loader, synthetic tasks.

Names follow Chainer's ``chainer.datasets`` where Chainer has them (``get_ptb_words``,
``get_ptb_words_vocabulary``). Every corpus is a flat int32 array of word ids with ``<eos>`` after
each line, ready for :class:`rnnviz.iterators.ParallelSequentialIterator`.
"""
from .kjv import (
    get_kjv_lines,
    get_kjv_vocabulary,
    get_kjv_words,
    get_kjv_words_vocabulary,
    kjv_path,
)
from .ptb import dataset_root, download_ptb, get_ptb_words, get_ptb_words_vocabulary
from .text import get_text_words
from .synthetic import IGNORE_LABEL, adding_task, recall_batch, recall_task

__all__ = [
    "IGNORE_LABEL",
    "adding_task",
    "dataset_root",
    "download_ptb",
    "get_kjv_lines",
    "get_kjv_vocabulary",
    "get_kjv_words",
    "get_kjv_words_vocabulary",
    "get_ptb_words",
    "get_ptb_words_vocabulary",
    "get_text_words",
    "kjv_path",
    "recall_batch",
    "recall_task",
]
