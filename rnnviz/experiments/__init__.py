"""What the widgets measure, as plain functions over a model and data: numbers only, no widgets,
no drawing, importable without ipywidgets (a lesson or an assignment can use them directly).

A *model* is either an ``L.Classifier`` (``model(x_t, t_t)`` returns the step loss) or a predictor
(``model(x_t)`` returns logits; the loss is ``lossfun(logits, t_t)``, softmax cross entropy by
default). It must contain a stateful recurrent link (``L.LSTM`` or ``L.RNN``).

- ``demo``: the built-in tiny corpus and LSTM language model (``demo_model``, ``demo_data``, ``demo_loss``);
- ``model``: a learner's model and data checked (``StepModel``, ``check_data``, ``InputError``);
- ``measure``: hidden states (``run_hidden``), live nodes per step under truncated BPTT
  (``run_truncated``), truncated vs full gradients (``compare_truncation``), the gradient flow
  ||dL_t/dh_s|| (``gradient_flow``), the unrolled graph (``trace_run``);
- ``truncation``: truncated vs full gradients averaged over window offsets and a batch
  (``compare_truncation_averaged``), the default protocol's model and data (``protocol_model``,
  ``protocol_data``) and the table behind lesson 04 (``measure_table``;
  ``python -m rnnviz.experiments.truncation`` prints it);
- ``seq2seq``: lesson 11's encoder-decoder with and without attention (``Seq2Seq``,
  ``train_seq2seq``, ``sequence_accuracy``);
- ``chars``: lesson 10's character-level model (``char_model``, ``train_char_model``), sampling
  with a temperature (``sample_chars``), units against features of the text
  (``unit_activations``, ``char_features``, ``best_units``), connectivity (``Connectivity``).
"""
from . import chars
from .demo import DEMO_TEXT, demo_corpus, demo_data, demo_loss, demo_model
from .measure import (compare_truncation, gradient_flow, run_hidden, run_truncated, trace_run,
                      truncated_grads)
from .truncation import (PROTOCOL, compare_truncation_averaged, measure_table, protocol_data,
                         protocol_model, window_gradients, windows)
from . import seq2seq
from .seq2seq import Seq2Seq, sequence_accuracy, train_seq2seq
from . import explode
from .model import (InputError, StepModel, check_bprop_len, check_count, check_data, data_without_model,
                    find_recurrent, model_and_data, recurrent_depth, scaled_lateral)

__all__ = ["DEMO_TEXT", "InputError", "explode", "StepModel", "check_bprop_len", "check_count", "check_data",
           "compare_truncation", "data_without_model", "demo_corpus", "demo_data", "demo_loss",
           "demo_model", "find_recurrent", "PROTOCOL", "compare_truncation_averaged", "measure_table",
           "protocol_data", "protocol_model", "window_gradients", "windows", "gradient_flow", "model_and_data", "recurrent_depth",
           "run_hidden", "run_truncated", "scaled_lateral", "trace_run", "truncated_grads",
           "Seq2Seq", "seq2seq", "sequence_accuracy", "train_seq2seq"]
