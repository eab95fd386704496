"""Train a recurrent language model from a terminal.

    python -m rnnviz.train --corpus kjv --vocab-size 2000 --epochs 1 --bprop-len 30

Prints progress (tqdm) and the final validation and test perplexity. With ``--checkpoint PATH`` a
checkpoint is written every ``--checkpoint-every`` updates and at the end; Ctrl-C finishes the
current update, saves (to ``--checkpoint``, else to ``rnnviz-interrupted.npz``) and prints the
command that resumes. Every argument is checked before any data is read or anything is trained.
"""
import argparse
import math
import os
import shlex
import sys

import numpy

INTERRUPTED_CHECKPOINT = "rnnviz-interrupted.npz"


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
    p.add_argument("--epochs", type=float, default=1.0,
                   help="epochs in all (a resumed run trains until this many are done)")
    p.add_argument("--lr", type=float, default=1.0, help="SGD learning rate")
    p.add_argument("--clip", type=float, default=5.0, help="global gradient-norm threshold (0: none)")
    p.add_argument("--max-words", type=int, default=None, help="use only the first N training words")
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--checkpoint", default=None,
                   help="save a checkpoint here (.npz) every --checkpoint-every updates and at the end")
    p.add_argument("--checkpoint-every", type=int, default=200,
                   help="updates between checkpoints (with --checkpoint; default 200)")
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint if it exists")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


# (option, smallest value, what it is) for the whole-number options
_AT_LEAST = (
    ("vocab_size", 2, "words kept, '<unk>' included"),
    ("embed", 1, "embedding size"),
    ("hidden", 1, "hidden state size"),
    ("layers", 1, "recurrent layers"),
    ("batch_size", 1, "parallel streams"),
    ("bprop_len", 1, "steps back-propagated through"),
    ("max_words", 2, "training words used"),
    ("checkpoint_every", 1, "updates between checkpoints"),
    ("seed", 0, "random seed"),
)


def check_args(args):
    """Refuse nonsense before anything runs: SystemExit with a message naming the option."""
    def fail(option, wanted, got):
        raise SystemExit(f"error: --{option.replace('_', '-')} must be {wanted}, got {got}")

    for name, low, what in _AT_LEAST:
        value = getattr(args, name)
        if value is not None and value < low:
            fail(name, f"at least {low} ({what})", value)
    if args.seed >= 2 ** 32:
        fail("seed", "below 2**32", args.seed)
    if not (math.isfinite(args.epochs) and args.epochs > 0):
        fail("epochs", "a number > 0 (fractions allowed, e.g. 0.5)", args.epochs)
    if not (math.isfinite(args.lr) and args.lr > 0):
        fail("lr", "a number > 0 (the SGD step size, e.g. 1.0)", args.lr)
    if not (math.isfinite(args.clip) and args.clip >= 0):
        fail("clip", "a number >= 0 (0: no clipping)", args.clip)
    if args.resume and not args.checkpoint:
        raise SystemExit("error: --resume needs --checkpoint PATH")
    if args.checkpoint:
        from .serializers.npz import check_writable

        try:
            check_writable(args.checkpoint, "--checkpoint")
        except (OSError, ValueError) as err:
            raise SystemExit(f"error: {err}") from None


def load_corpus(args):
    from . import datasets

    if args.corpus == "kjv":
        return datasets.get_kjv_words(args.vocab_size)
    if args.corpus == "ptb":
        return datasets.get_ptb_words()
    train, valid, test, _ = datasets.get_text_words(args.corpus, args.vocab_size)
    return train, valid, test


def resume_command(argv, checkpoint):
    """The command line that continues this run from ``checkpoint``."""
    argv = list(argv)
    if "--checkpoint" in argv:
        i = argv.index("--checkpoint")
        argv[i + 1: i + 2] = [checkpoint]
    elif not any(a.startswith("--checkpoint=") for a in argv):
        argv += ["--checkpoint", checkpoint]
    if "--resume" not in argv:
        argv.append("--resume")
    return shlex.join([sys.executable, "-m", "rnnviz.train", *argv])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    check_args(args)
    try:
        return _train(args, argv)
    except KeyboardInterrupt:  # before training started, or a second Ctrl-C
        saved = f"; the last checkpoint is {args.checkpoint}" if args.checkpoint and os.path.exists(
            args.checkpoint) else ""
        print(f"\ninterrupted{saved}", file=sys.stderr, flush=True)
        return 130


def _train(args, argv):
    from . import links as L
    from .training import LMTrainer
    from .training.trainer import TrainingInterrupted

    try:
        train, valid, test = load_corpus(args)
    except (ValueError, OSError) as err:
        raise SystemExit(f"error: {err}")
    if args.max_words is not None:
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
    if args.resume:
        if os.path.exists(args.checkpoint):
            try:
                trainer.load(args.checkpoint)
            except (ValueError, OSError) as err:
                raise SystemExit(f"error: {err}\n(was the checkpoint written with other options? "
                                 f"--resume needs the options of the run that wrote it)")
            print(f"resumed from {args.checkpoint} at update {trainer.updater.iteration}", flush=True)
        else:
            print(f"no checkpoint at {args.checkpoint} yet: starting from the beginning", flush=True)
    total = max(1, int(round(args.epochs * trainer.updates_per_epoch)))
    remaining = total - trainer.updater.iteration
    try:
        if remaining > 0:
            trainer.run(updates=remaining, progress=not args.no_progress, checkpoint=args.checkpoint,
                        checkpoint_every=args.checkpoint_every if args.checkpoint else None)
    except TrainingInterrupted:  # Ctrl-C between two updates: everything is consistent
        path = args.checkpoint or INTERRUPTED_CHECKPOINT
        if not args.checkpoint:
            trainer.save(path)
        print(f"\ninterrupted after update {trainer.updater.iteration} of {total}; checkpoint saved "
              f"to {path}\nto continue: {resume_command(argv, path)}", file=sys.stderr, flush=True)
        return 130
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
