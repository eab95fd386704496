"""Lesson 10's character model at a longer run: the same protocol, more updates (and optionally a
larger LSTM), with the validation perplexity per character and a sample at each checkpoint.

    .venv/bin/python benchmarks/bench_char_model.py                       # 3,000 updates, 64 units
    .venv/bin/python benchmarks/bench_char_model.py --updates 20000 --hidden 256 --every 2000

Prints what it measures; nothing is asserted. One BLAS thread (small matrices).
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnviz.experiments import chars as C  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--hidden", type=int, default=C.PROTOCOL["n_hidden"])
    parser.add_argument("--every", type=int, default=500, help="updates between checkpoints")
    parser.add_argument("--temperature", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model = C.char_model(args.seed, n_hidden=args.hidden)
    trainer = C.char_trainer(model)
    start = time.perf_counter()
    with C.one_blas_thread():
        for at in range(args.every, args.updates + 1, args.every):
            trainer.run(updates=args.every, progress=False)
            text = C.sample_chars(model, 300, args.temperature, seed=args.seed)
            print(f"--- update {at} ({time.perf_counter() - start:.0f} s): validation perplexity per "
                  f"character {trainer.evaluate():.2f}, real words {C.real_word_share(text):.0%}")
            print(text.strip(), flush=True)


if __name__ == "__main__":
    main()
