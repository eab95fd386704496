"""Data for the lessons: the shipped KJV corpus, the Penn Treebank loader, synthetic tasks, and
the counting baselines (unigram, bigram) that a language model's perplexity is compared with.

Names follow Chainer's ``chainer.datasets`` where Chainer has them (``get_ptb_words``,
``get_ptb_words_vocabulary``). Every corpus is a flat int32 array of word ids with ``<eos>`` after
each line, ready for :class:`rnnviz.iterators.ParallelSequentialIterator`.
"""
from .baselines import BigramLM, UnigramLM, unk_rate
from .chars import (KJV_CHARSET, chars_to_ids, get_kjv_chars, get_kjv_chars_vocabulary,
                    ids_to_chars)
from .kjv import (
    get_kjv_lines,
    get_kjv_vocabulary,
    get_kjv_words,
    get_kjv_words_vocabulary,
    kjv_path,
)
from .ptb import dataset_root, download_ptb, get_ptb_words, get_ptb_words_vocabulary
from .text import get_text_words
from .synthetic import (BOS, DIGIT_VOCAB, EOS, IGNORE_LABEL, PLUS, adding_task, digit_addition,
                        digit_reversal, recall_batch, recall_task)

__all__ = [
    "BOS",
    "BigramLM",
    "DIGIT_VOCAB",
    "EOS",
    "IGNORE_LABEL",
    "KJV_CHARSET",
    "PLUS",
    "UnigramLM",
    "adding_task",
    "chars_to_ids",
    "dataset_root",
    "digit_addition",
    "digit_reversal",
    "download_ptb",
    "get_kjv_chars",
    "get_kjv_chars_vocabulary",
    "get_kjv_lines",
    "get_kjv_vocabulary",
    "get_kjv_words",
    "get_kjv_words_vocabulary",
    "get_ptb_words",
    "get_ptb_words_vocabulary",
    "get_text_words",
    "ids_to_chars",
    "kjv_path",
    "recall_batch",
    "recall_task",
    "unk_rate",
]
