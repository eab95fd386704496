"""The CuPy stand-in of the grading package (``rnnviz.grading.standin``), for the tests' GPU paths."""
from rnnviz.grading.standin import FakeCupyArray, installed, make_module  # noqa: F401
