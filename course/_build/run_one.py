"""Execute one lesson with nbclient and report the time and any error (a development helper)."""
import sys
import time

import nbformat
from nbclient import NotebookClient

path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
t = time.time()
client = NotebookClient(nb, timeout=300, kernel_name="python3",
                        resources={"metadata": {"path": "course"}})
try:
    client.execute()
finally:
    print(f"{path}: {time.time() - t:.1f}s")
    out = sys.argv[2] if len(sys.argv) > 2 else None
    if out:
        nbformat.write(nb, out)
for i, c in enumerate(nb.cells):
    if c.cell_type == "code":
        for o in c.outputs:
            if o.output_type == "stream":
                print(f"--- [{i}] {o.name}:", o.text[:1500])
            elif o.output_type == "error":
                print(f"--- [{i}] ERROR", o.ename, o.evalue)
from datetime import datetime
for i, c in enumerate(nb.cells):
    ex = c.get("metadata", {}).get("execution", {})
    if "iopub.execute_input" in ex and "shell.execute_reply" in ex:
        d = (datetime.fromisoformat(ex["shell.execute_reply"].replace("Z", "+00:00"))
             - datetime.fromisoformat(ex["iopub.execute_input"].replace("Z", "+00:00"))).total_seconds()
        if d > 0.5:
            print(f"cell {i}: {d:.1f}s")
