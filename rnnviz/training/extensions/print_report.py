"""PrintReport: one row of a table per LogReport entry."""
import sys

from ..extension import Extension


class PrintReport(Extension):
    """Print the chosen ``entries`` of each new LogReport entry as an aligned table row.

    ``entries`` are keys such as ``'epoch'``, ``'main/loss'``, ``'validation/main/loss'``;
    a key absent from an entry prints blank. ``log_report`` is the LogReport's name (or itself).
    """

    def __init__(self, entries, log_report="LogReport", out=sys.stdout):
        self._entries = list(entries)
        self._log_report = log_report
        self._out = out
        self._widths = [max(10, len(e)) for e in self._entries]
        self._printed = 0
        self._header_done = False

    def _log(self, trainer):
        log_report = self._log_report
        if isinstance(log_report, str):
            log_report = trainer.get_extension(log_report)
        return log_report.log

    def header(self):
        return "  ".join(e.ljust(w) for e, w in zip(self._entries, self._widths)).rstrip()

    def row(self, entry):
        cells = []
        for key, width in zip(self._entries, self._widths):
            value = entry.get(key)
            if value is None:
                cells.append(" " * width)
            elif isinstance(value, int):
                cells.append(str(value).ljust(width))
            else:
                cells.append(f"{value:<{width}.6g}")
        return "  ".join(cells).rstrip()

    def __call__(self, trainer):
        log = self._log(trainer)
        out = self._out
        if not self._header_done:
            out.write(self.header() + "\n")
            self._header_done = True
        for entry in log[self._printed:]:
            out.write(self.row(entry) + "\n")
        self._printed = len(log)
        if hasattr(out, "flush"):
            out.flush()

    def serialize(self, serializer):
        self._printed = int(serializer("_printed", self._printed))
