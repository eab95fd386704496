"""The plain data model a trace produces: nodes, edges, statistics. No autograd objects inside
unless a trace is asked to keep them (``keep_refs=True``)."""
from dataclasses import dataclass, field
from typing import Optional


@dataclass
class Stats:
    """Summary of one array: min, max, mean and L2 norm (floats)."""
    min: float
    max: float
    mean: float
    norm: float

    def __str__(self):
        return f"min {self.min:.4g}, max {self.max:.4g}, mean {self.mean:.4g}, |.|₂ {self.norm:.4g}"


@dataclass
class Node:
    """A variable (kind ``'variable'``) or a function node (kind ``'function'``) of the graph.

    ``id`` is the node's index in ``Graph.nodes``. ``link`` is the path of the link that recorded
    it ('Classifier/predictor/mid'), '' outside any link. ``step`` is the time step (None when it
    has none); ``step_inferred`` says it came from the neighbours, not from a scope.
    ``cut`` marks a variable whose history was cut by ``unchain``/``unchain_backward``.
    """
    id: int
    kind: str
    label: str
    shape: Optional[tuple] = None
    dtype: Optional[str] = None
    name: Optional[str] = None
    link: str = ""
    step: Optional[int] = None
    step_inferred: bool = False
    generation: int = 0
    is_param: bool = False
    cut: bool = False
    value: Optional[Stats] = None
    grad: Optional[Stats] = None
    members: int = 1          # how many original nodes a group box stands for
    group: Optional[str] = None  # for group boxes: the link path the box collapses
    ref: object = field(default=None, repr=False, compare=False)

    @property
    def is_function(self):
        return self.kind in ("function", "group")

    @property
    def link_parts(self):
        return tuple(self.link.split("/")) if self.link else ()


@dataclass
class Edge:
    """Data flows from ``src`` to ``dst`` (node ids)."""
    src: int
    dst: int


@dataclass
class Graph:
    nodes: list
    edges: list
    outputs: list = field(default_factory=list)   # ids of the traced outputs
    note: str = ""                                  # e.g. why the graph was sampled

    def __len__(self):
        return len(self.nodes)

    @property
    def n_functions(self):
        return sum(1 for n in self.nodes if n.is_function)

    @property
    def n_variables(self):
        return sum(1 for n in self.nodes if not n.is_function)

    @property
    def steps(self):
        """The sorted time steps present in the graph."""
        return sorted({n.step for n in self.nodes if n.step is not None})

    @property
    def cuts(self):
        return [n for n in self.nodes if n.cut]

    def predecessors(self):
        preds = [[] for _ in self.nodes]
        for e in self.edges:
            preds[e.dst].append(e.src)
        return preds

    def successors(self):
        succ = [[] for _ in self.nodes]
        for e in self.edges:
            succ[e.src].append(e.dst)
        return succ

    def find(self, label=None, name=None, kind=None, step=None):
        """Nodes matching every given field."""
        return [n for n in self.nodes
                if (label is None or n.label == label) and (name is None or n.name == name)
                and (kind is None or n.kind == kind) and (step is None or n.step == step)]

    def describe(self, node_id, mode="values"):
        n = self.nodes[node_id]
        parts = [f"{n.label}"]
        if n.shape is not None:
            parts.append(f"shape {n.shape} {n.dtype}")
        if n.link:
            parts.append(f"link {n.link}")
        if n.step is not None:
            parts.append(f"step {n.step}{' (inferred)' if n.step_inferred else ''}")
        if n.cut:
            parts.append("history cut here (unchain)")
        if n.value is not None:
            parts.append(f"value: {n.value}")
        if n.grad is not None:
            parts.append(f"grad: {n.grad}")
        elif n.kind == "variable":
            parts.append("grad: none")
        return "; ".join(parts)

    def to_dot(self, name="rnnviz"):
        """The graph as Graphviz DOT text (functions as boxes, variables as ellipses)."""
        lines = [f"digraph {name} {{", "  rankdir=LR;", '  node [fontname="Helvetica"];']
        for n in self.nodes:
            text = n.label if n.shape is None else f"{n.label}\\n{n.shape}"
            if n.step is not None:
                text += f"\\nt={n.step}"
            text = text.replace('"', '\\"')
            if n.is_function:
                attrs = f'shape=box, style=filled, fillcolor="#cfe2f3", label="{text}"'
            elif n.cut:
                attrs = f'shape=ellipse, style="dashed,filled", color=red, fillcolor="#fde0dd", label="✂ {text}"'
            elif n.is_param:
                attrs = f'shape=ellipse, style=filled, fillcolor="#ffe599", label="{text}"'
            else:
                attrs = f'shape=ellipse, label="{text}"'
            lines.append(f"  n{n.id} [{attrs}];")
        for e in self.edges:
            lines.append(f"  n{e.src} -> n{e.dst};")
        lines.append("}")
        return "\n".join(lines) + "\n"
