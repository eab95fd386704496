"""Write the lesson notebooks of course/ from the lesson modules here (without outputs).

    .venv/bin/python course/_build/build.py            # all lessons
    .venv/bin/python course/_build/build.py 04         # the lessons whose file name starts with 04

Lesson 00 is edited as a notebook directly; lessons 01-07 are written from these modules so that
their text and code are easy to review in a diff. Cell ids are stable (``lNN-MM``).
"""
import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from nb import write  # noqa: E402

MODULES = sorted(p.stem for p in HERE.glob("lesson[0-9][0-9].py"))   # one module per lesson


def main(prefixes):
    for name in MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name == name:
                continue
            raise
        if prefixes and not any(mod.NAME.startswith(p) for p in prefixes):
            continue
        path = HERE.parent / mod.NAME
        write(mod.CELLS, path, "l" + mod.NAME[:2])
        print("wrote", path.relative_to(HERE.parent.parent), f"({len(mod.CELLS)} cells)")


if __name__ == "__main__":
    main(sys.argv[1:])
