"""Train a recurrent language model from a terminal.

    python -m rnnviz.train --corpus kjv --vocab-size 2000 --epochs 1 --bprop-len 30

Prints progress (tqdm) and the final validation and test perplexity.
"""
import argparse
import os
import sys

import numpy


def build_parser():
    p = argparse.ArgumentParser(prog="python -m rnnviz.train", description=__doc__.splitlines()[0])
    p.add_argument("--corpus", default="kjv",
                   help="'kjv' (shipped), 'ptb' (downloaded and cached), or the path of a text file")
    p.add_argument("--vocab-size", type=int, default=10000, help="most frequent words kept (kjv, text file)")
    p.add_argument("--embed", type=int, default=100, help="embedding size")
    p.add_argument("--hidden", type=int, default=100, help="hidden state size")
    p.add_argument("--layers", type=int, default=1, help="recurrent layers")
    p.add_argument("--cell", choices=("lstm", "rnn"), default="lstm")
    p.add_argument("--batch-size", type=int, default=20)
    p.add_argument("--bprop-len", type=int, default=35, help="truncated-BPTT window")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--lr", type=float, default=1.0, help="SGD learning rate")
    p.add_argument("--clip", type=float, default=5.0, help="global gradient-norm threshold (0: none)")
    p.add_argument("--max-words", type=int, default=None, help="use only the first N training words")
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--checkpoint", default=None, help="save a checkpoint here at the end (.npz)")
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint if it exists")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def load_corpus(args):
    from . import datasets

    if args.corpus == "kjv":
        return datasets.get_kjv_words(args.vocab_size)
    if args.corpus == "ptb":
        return datasets.get_ptb_words()
    train, valid, test, _ = datasets.get_text_words(args.corpus, args.vocab_size)
    return train, valid, test


def main(argv=None):
    from . import links as L
    from .training import LMTrainer

    args = build_parser().parse_args(argv)
    if args.bprop_len < 1:
        raise SystemExit(f"error: --bprop-len must be at least 1, got {args.bprop_len}")
    if args.resume and not args.checkpoint:
        raise SystemExit("error: --resume needs --checkpoint PATH")
    try:
        train, valid, test = load_corpus(args)
    except (ValueError, FileNotFoundError) as err:
        raise SystemExit(f"error: {err}")
    if args.max_words:
        train = train[: args.max_words]
    vocab = int(max(train.max(), valid.max(), test.max())) + 1
    numpy.random.seed(args.seed)
    model = L.Classifier(L.RNNLM(vocab, args.embed, args.hidden, args.layers, cell=args.cell))
    model.compute_accuracy = False
    from . import optimizers
    try:
        trainer = LMTrainer(model, train, valid, batch_size=args.batch_size, bprop_len=args.bprop_len,
                            optimizer=optimizers.SGD(lr=args.lr), clip=args.clip, device=args.device)
    except ValueError as err:
        raise SystemExit(f"error: {err}")
    print(f"corpus {args.corpus}: {len(train)} training words, vocabulary {vocab}; "
          f"{trainer.updates_per_epoch} updates per epoch", flush=True)
    if args.resume and os.path.exists(args.checkpoint):
        trainer.load(args.checkpoint)
        print(f"resumed from {args.checkpoint} at update {trainer.updater.iteration}", flush=True)
    trainer.run(epochs=args.epochs, progress=not args.no_progress)
    if args.checkpoint:
        trainer.save(args.checkpoint)
        print(f"checkpoint saved to {args.checkpoint}")
    val_ppl = trainer.evaluate()
    test_ppl = trainer.evaluate(test)
    print(f"validation perplexity {val_ppl:.2f}  test perplexity {test_ppl:.2f}  "
          f"(uniform guess: {vocab})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
