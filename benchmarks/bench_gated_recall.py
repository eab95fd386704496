"""Lesson 09's experiment at a larger budget: accuracy on delayed recall against the lag, for the
plain RNN, the GRU and the LSTM with forget bias 0 and 1, after more updates than the lesson can
afford (``rnnviz.training.recall.train_cell_on_recall``: fresh batches, full BPTT, Adam).

    .venv/bin/python benchmarks/bench_gated_recall.py                       # 1500 updates, seeds 0 1 2
    .venv/bin/python benchmarks/bench_gated_recall.py --updates 300 --seeds 0   # the lesson's setting

Prints, for each model and lag, the mean accuracy over the seeds (and the lowest and highest),
and the CPU time each run took. Expect about a minute of CPU per seed at 1500 updates.
"""
import argparse
import time

import numpy

from rnnviz.training.recall import train_cell_on_recall

MODELS = {"RNN": ("rnn", 1.0), "GRU": ("gru", 1.0),
          "LSTM, forget bias 0": ("lstm", 0.0), "LSTM, forget bias 1": ("lstm", 1.0)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=1500)
    parser.add_argument("--lags", type=int, nargs="+", default=[5, 10, 20, 30])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    print(f"delayed recall, alphabet of 4 (chance 0.25), hidden 32, batch 32, {args.updates} updates; "
          f"mean [min, max] over seeds {args.seeds}")
    print(f"{'':22s}" + "".join(f"lag {lag:<14d}" for lag in args.lags) + "CPU s per run")
    for name, (cell, forget_bias) in MODELS.items():
        row, cpu = [], []
        for lag in args.lags:
            accs = []
            for seed in args.seeds:
                start = time.process_time()
                _, history = train_cell_on_recall(cell, lag, updates=args.updates,
                                                  forget_bias=forget_bias, seed=seed)
                cpu.append(time.process_time() - start)
                accs.append(history[-1][1])
            row.append(f"{numpy.mean(accs):.2f} [{min(accs):.2f}, {max(accs):.2f}]  ")
        print(f"{name:22s}" + "".join(row) + f"{numpy.mean(cpu):.1f}", flush=True)


if __name__ == "__main__":
    main()
