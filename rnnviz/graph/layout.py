"""Grouping, sampling and layouts of a traced Graph. Plain Python and NumPy; no drawing.

* ``group(graph, depth)`` collapses each link's internal functions (per time step) into one box.
* ``sample(graph, max_nodes)`` keeps the part nearest the outputs when a graph is still too big.
* ``unrolled_layout`` puts time on x and the layer (embed, recurrent, output, loss) on y.
* ``layered_layout`` is for any graph: longest-path layers, barycentric ordering inside a layer.
* ``prepare`` and ``layout`` pick for you.
"""
from dataclasses import dataclass, field

import numpy

from ..i18n import ftr, tr
from .model import Edge, Graph, Node

LOSS_WORDS = ("Entropy", "Error", "Loss")

# readable short names for the longest function names (never cut short with an ellipsis)
SHORT = {"SoftmaxCrossEntropy": "SoftmaxCE", "MeanSquaredError": "MSE", "AddConstant": "Add c",
         "MulConstant": "Mul c", "RSubConstant": "c − x", "RDivConstant": "c / x",
         "PowConstant": "Pow c", "RPowConstant": "c ** x", "BroadcastTo": "Broadcast"}


def display_label(label):
    """The name a function node shows in a figure: its own, or a readable short form of a long
    one (``SHORT``)."""
    return SHORT.get(label, label)


def _common_prefix(paths):
    if not paths:
        return ()
    first = paths[0]
    k = len(first)
    for p in paths[1:]:
        k = min(k, len(p))
        for i in range(k):
            if p[i] != first[i]:
                k = i
                break
    return first[:k]


def auto_depth(graph):
    """The link depth to group at: the recurrent link's own depth, or one below the common root.

    For ``Classifier(RNNLM)`` that is 3 ('Classifier/predictor/mid'), so the embedding, the LSTM,
    the output layer and the loss each become one box per step.
    """
    paths = [n.link_parts for n in graph.nodes if n.is_function and n.link]
    if not paths:
        return 0
    stepped = [n.link_parts for n in graph.nodes
               if n.is_function and n.link and n.step is not None and not n.step_inferred]
    # deduplicate in order (cheap for 20,000 nodes)
    paths = list(dict.fromkeys(paths))
    stepped = list(dict.fromkeys(stepped))
    r = len(_common_prefix(stepped)) if stepped else 0
    return max(r, len(_common_prefix(paths)) + 1)


def _key(node, depth):
    parts = node.link_parts
    if not parts or depth <= 0:
        return None
    return "/".join(parts[:depth])


def group(graph, depth=None, expand=(), hide_params=True, show_variables=False):
    """Collapse the functions of each link (path cut at ``depth``) at each step into one box.

    ``expand``: link paths (strings) to leave expanded. Variables used only inside one box
    disappear into it; parameters are hidden when ``hide_params``; other variables become plain
    edges between the boxes unless ``show_variables`` (cut variables, variables given a
    ``name`` and outputs always stay). Returns a new Graph whose
    group nodes have ``kind='group'``, ``group`` = the link path and ``members`` = nodes inside.
    """
    if depth is None:
        depth = auto_depth(graph)
    expand = tuple(expand)
    n = len(graph.nodes)
    preds, succs = graph.predecessors(), graph.successors()
    gkey = [None] * n
    for node in graph.nodes:
        if node.is_function:
            k = _key(node, depth)
            if k is not None and not any(k == e or k.startswith(e + "/") for e in expand):
                gkey[node.id] = (k, node.step)
    # one box per call of a link: functions of one path and step are one box only when data flows
    # between them (two unnamed links of one class share a path, 'Linear', and stay two boxes)
    parent = list(range(n))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    for node in graph.nodes:
        if node.is_function or gkey[node.id] is not None:
            continue
        ends = [j for j in preds[node.id] + succs[node.id] if gkey[j] is not None]
        for j in ends[1:]:
            if gkey[j] == gkey[ends[0]]:
                parent[root(j)] = root(ends[0])
    for i in range(n):
        if gkey[i] is not None:
            gkey[i] = gkey[i] + (root(i),)
    counts = {}
    for k in gkey:
        if k is not None:
            counts[k] = counts.get(k, 0) + 1
    for i in range(n):          # a box of one function is just that function
        if gkey[i] is not None and counts[gkey[i]] == 1:
            gkey[i] = None
    # variables: inside a box when everything that touches them is in that box
    for node in graph.nodes:
        if node.is_function:
            continue
        i = node.id
        if node.is_param and hide_params:
            gkey[i] = "hidden"
            continue
        touching = [gkey[j] for j in preds[i]] + [gkey[j] for j in succs[i]]
        if touching and touching[0] is not None and all(t == touching[0] for t in touching) \
                and not node.cut and i not in graph.outputs:
            gkey[i] = touching[0]
    bridged = []
    if not show_variables:
        outs = set(graph.outputs)
        for node in graph.nodes:
            if not node.is_function and gkey[node.id] is None and not node.cut \
                    and node.id not in outs and not node.is_param and not node.name:
                gkey[node.id] = "bridge"
                bridged.append(node.id)
    new_nodes, mapping, box_of = [], [None] * n, {}
    for node in graph.nodes:
        k = gkey[node.id]
        if k == "hidden" or k == "bridge":
            continue
        if k is None:
            copy = Node(**{f: getattr(node, f) for f in node.__dataclass_fields__})
            copy.id = len(new_nodes)
            mapping[node.id] = copy.id
            new_nodes.append(copy)
            continue
        j = box_of.get(k)
        if j is None:
            path, step = k[0], k[1]
            j = box_of[k] = len(new_nodes)
            new_nodes.append(Node(id=j, kind="group", label=path.rsplit("/", 1)[-1], link=path,
                                  step=step, step_inferred=node.step_inferred,
                                  generation=node.generation, members=0, group=path))
        new_nodes[j].members += 1
        mapping[node.id] = j
    for v in bridged:      # a box (or function) shows the statistics of the variable it outputs
        for p in preds[v]:
            m = mapping[p]
            if m is not None and new_nodes[m].value is None:
                new_nodes[m].value = graph.nodes[v].value
                new_nodes[m].grad = graph.nodes[v].grad
                new_nodes[m].shape = new_nodes[m].shape or graph.nodes[v].shape
                new_nodes[m].dtype = new_nodes[m].dtype or graph.nodes[v].dtype
    all_edges = [(e.src, e.dst) for e in graph.edges]
    for v in bridged:      # a hidden variable becomes edges from its creator to its users
        for p in preds[v] or [None]:
            for c in succs[v]:
                if p is not None:
                    all_edges.append((p, c))
    edges, seen = [], set()
    for src, dst in all_edges:
        s, d = mapping[src], mapping[dst]
        if s is None or d is None or s == d or (s, d) in seen:
            continue
        seen.add((s, d))
        edges.append(Edge(s, d))
    # ids must stay topological: re-sort by the first member's position (already in order)
    outs = [mapping[o] for o in graph.outputs if mapping[o] is not None]
    return Graph(nodes=new_nodes, edges=edges, outputs=outs, note=graph.note)


def sample(graph, max_nodes):
    """Keep the ``max_nodes`` nodes nearest the outputs (highest ids) and say so in ``note``."""
    n = len(graph.nodes)
    if n <= max_nodes:
        return graph
    start = n - max_nodes
    nodes = []
    for node in graph.nodes[start:]:
        copy = Node(**{f: getattr(node, f) for f in node.__dataclass_fields__})
        copy.id -= start
        nodes.append(copy)
    edges = [Edge(e.src - start, e.dst - start) for e in graph.edges if e.src >= start and e.dst >= start]
    note = tr("graph.sampled", shown=max_nodes, total=n, left_out=start)
    return Graph(nodes=nodes, edges=edges, outputs=[o - start for o in graph.outputs if o >= start],
                 note=(graph.note + "; " if graph.note else "") + note)


def prepare(graph, grouped=True, depth=None, expand=(), max_nodes=1500):
    """Group (if asked, or if the graph is too big to draw) and sample; returns a Graph whose
    ``note`` explains anything left out."""
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"prepare: max_nodes must be an int >= 1, got {max_nodes!r}")
    g = graph
    if grouped or len(g) > max_nodes:
        g2 = group(g, depth, expand)
        if not grouped:
            g2.note = (g2.note + "; " if g2.note else "") + \
                tr("graph.too_many", n=len(graph))
        g = g2
    if len(g) > max_nodes:
        g = sample(g, max_nodes)
    return g


@dataclass
class Layout:
    """Node positions (``x``, ``y`` arrays indexed by node id) plus axis annotations."""
    kind: str
    x: numpy.ndarray
    y: numpy.ndarray
    rows: list = field(default_factory=list)      # (y, label) for the layer bands
    columns: list = field(default_factory=list)   # (x, step) for the time steps
    step_width: float = 1.0

    def step_x(self, step):
        """The x at which time step ``step``'s column is centred (steps are ``step_width`` apart)."""
        if not self.columns:
            return step * self.step_width
        x, first = self.columns[0]
        return x + (step - first) * self.step_width

    def step_xlim(self, n_steps):
        """x limits that show steps 0..n_steps-1, each one ``step_width`` wide: with these on the
        graph's axes and (-0.5, n_steps - 0.5) on another panel of the same left edge and width,
        step t's column sits above x = t of that panel."""
        half = self.step_width / 2.0
        return self.step_x(0) - half, self.step_x(n_steps - 1) + half


def _band_label(path, nodes, graph=None, band_of=None):
    """A row's name: the link's own name (code, never translated), with what it is in words (in
    the figures' language: ``rnnviz.i18n``). The row of functions outside any link is named from
    what it holds: 'loss sum' only when its functions add up the losses of a loss row; otherwise
    the functions themselves ('Mul, Sum')."""
    if not path:
        return _loose_row_label(nodes, graph, band_of)
    base = path.rsplit("/", 1)[-1]
    labels = {n.label for n in nodes}
    if any(n.step is not None and not n.step_inferred and n.is_function and n.link for n in nodes):
        recurrent = any(("LSTM" in lbl or "GRU" in lbl or "RNN" in lbl or lbl == "Tanh") for lbl in labels) or any(n.kind == "group" for n in nodes)
        if recurrent and all(not n.step_inferred for n in nodes if n.is_function):
            return ftr("graph.row_recurrent", link=base)
    if any(any(w in lbl for w in LOSS_WORDS) for lbl in labels):
        return ftr("graph.row_loss", link=base)
    return base


SUMS = ("Add", "AddConstant")


def _is_loss_band(label_set):
    return any(any(w in lbl for w in LOSS_WORDS) for lbl in label_set)


def _loose_row_label(nodes, graph, band_of):
    funcs = [n for n in nodes if n.is_function]
    if not funcs:
        return ""
    names = list(dict.fromkeys(n.label for n in sorted(funcs, key=lambda n: (n.generation, n.id))))
    if graph is not None and all(n.label in SUMS for n in funcs):
        preds = graph.predecessors()
        bands = {}
        for nd in graph.nodes:
            if nd.is_function:
                bands.setdefault(band_of[nd.id], set()).add(nd.label)
        loss_bands = {b for b, labels in bands.items() if b and _is_loss_band(labels)}
        inputs = set()
        for f in funcs:                       # the functions feeding the sums, through a variable
            for p in preds[f.id]:
                for q in ([p] if graph.nodes[p].is_function else preds[p]):
                    inputs.add(q)
        if any(band_of[q] in loss_bands or _is_loss_band({graph.nodes[q].label}) for q in inputs):
            return ftr("graph.row_loss_sum")
    shown = [display_label(x) for x in names]
    if len(shown) > 3:
        shown = shown[:2] + ["…"]
    return ftr("graph.row_functions", names=", ".join(shown))


def unrolled_layout(graph, depth=None):
    """Time on x (one column block per step), layers on y (bands by link, ordered as data flows)."""
    n = len(graph.nodes)
    if depth is None:
        depth = auto_depth(graph)
    band_of = [_key(node, depth) or "" for node in graph.nodes]
    # order bands by the median position of their functions inside their step (data-flow order)
    by_step = {}
    for node in graph.nodes:
        if node.step is not None:
            by_step.setdefault(node.step, []).append(node.generation)
    base = {s: min(g) for s, g in by_step.items()}
    score = {}
    for node in graph.nodes:
        if node.step is not None and node.is_function:
            rel = 2 * (node.generation - base[node.step]) + 1
            score.setdefault(band_of[node.id], []).append(rel)
    bands = sorted(score, key=lambda b: (float(numpy.median(score[b])), b))
    for b in band_of:
        if b not in score and b not in bands:
            bands.append(b)
    band_index = {b: i for i, b in enumerate(bands)}
    # cells: (step, band) -> nodes; local columns by rank, stacked when the rank repeats
    cells = {}
    for node in graph.nodes:
        cells.setdefault((node.step, band_of[node.id]), []).append(node)
    local_x = numpy.zeros(n)
    stack = numpy.zeros(n)
    width, height = 1, [1] * len(bands)
    ncols = {}
    for (step, band), members in cells.items():
        ranks = sorted({2 * m.generation + (1 if m.is_function else 0) for m in members})
        col = {r: i for i, r in enumerate(ranks)}
        used = {}
        for m in members:
            r = 2 * m.generation + (1 if m.is_function else 0)
            c = col[r] if step is not None else 0
            local_x[m.id] = c
            stack[m.id] = used.get(c, 0)
            used[c] = used.get(c, 0) + 1
        ncols[(step, band)] = len(ranks)
        if step is not None:
            width = max(width, len(ranks))
        h = max(used.values()) if step is not None else 0.7 * max(used.values())
        height[band_index[band]] = max(height[band_index[band]], h)
    step_w = width + 1.0
    band_base = numpy.concatenate([[0.0], numpy.cumsum([h + 0.8 for h in height])])[:-1]
    steps = graph.steps
    first = steps[0] if steps else 0
    x = numpy.zeros(n)
    y = numpy.zeros(n)
    for node in graph.nodes:
        i = node.id
        bi = band_index[band_of[i]]
        if node.step is None:           # parameters: a column left of the first step, stacked per band
            x[i] = first * step_w - 1.2
            y[i] = band_base[bi] + stack[i] * 0.7
        else:
            # spread the cell's columns over the step's width
            x[i] = node.step * step_w + local_x[i] * (width / max(1, ncols[(node.step, band_of[i])]))
            y[i] = band_base[bi] + stack[i]
    rows = []
    for b, bi in band_index.items():
        rows.append((band_base[bi] + (height[bi] - 1) / 2.0,
                     _band_label(b, [nd for nd in graph.nodes if band_of[nd.id] == b], graph, band_of)))
    columns = [(s * step_w + (width - 1) / 2.0, s) for s in steps]
    return Layout("unrolled", x, y, rows, columns, step_w)


def topological_order(graph, preds=None, succs=None):
    """Kahn's algorithm, ties broken by id (deterministic); nodes on a cycle (possible after
    grouping) come last in id order."""
    n = len(graph.nodes)
    preds = graph.predecessors() if preds is None else preds
    succs = graph.successors() if succs is None else succs
    indeg = [len(p) for p in preds]
    import heapq
    heap = [i for i in range(n) if indeg[i] == 0]
    heapq.heapify(heap)
    order, done = [], [False] * n
    while heap:
        i = heapq.heappop(heap)
        order.append(i)
        done[i] = True
        for j in succs[i]:
            indeg[j] -= 1
            if indeg[j] == 0:
                heapq.heappush(heap, j)
    if len(order) < n:
        order.extend(i for i in range(n) if not done[i])
    return order


def layered_layout(graph, sweeps=4):
    """Longest-path layering (x) and barycentric ordering within layers (y), ``sweeps`` passes."""
    n = len(graph.nodes)
    preds, succs = graph.predecessors(), graph.successors()
    layer = [0] * n
    for i in topological_order(graph, preds, succs):
        if preds[i]:
            layer[i] = max(layer[p] for p in preds[i]) + 1
    for i in range(n):                    # pull sources (parameters, data) next to their user
        if not preds[i] and succs[i]:
            layer[i] = max(0, min(layer[s] for s in succs[i]) - 1)
    n_layers = (max(layer) + 1) if n else 0
    layers = [[] for _ in range(n_layers)]
    for i in range(n):
        layers[layer[i]].append(i)
    pos = numpy.zeros(n)
    for members in layers:
        for k, i in enumerate(members):
            pos[i] = k
    for sweep in range(sweeps):
        down = sweep % 2 == 0
        order = range(n_layers) if down else range(n_layers - 1, -1, -1)
        for li in order:
            members = layers[li]
            if len(members) < 2:
                continue
            nbrs = preds if down else succs
            keyed = []
            for i in members:
                nb = nbrs[i]
                keyed.append((sum(pos[j] for j in nb) / len(nb) if nb else pos[i], pos[i], i))
            keyed.sort()
            layers[li] = [i for _, _, i in keyed]
            for k, i in enumerate(layers[li]):
                pos[i] = k
    x = numpy.asarray(layer, dtype=float)
    y = numpy.zeros(n)
    for members in layers:
        m = len(members)
        for k, i in enumerate(members):
            y[i] = k - (m - 1) / 2.0
    return Layout("layered", x, y)


def layout(graph, kind="auto", depth=None):
    """``'unrolled'`` when the graph has two or more time steps, else ``'layered'`` (or say which)."""
    if kind == "auto":
        kind = "unrolled" if len(graph.steps) >= 2 else "layered"
    if kind == "unrolled":
        return unrolled_layout(graph, depth)
    if kind == "layered":
        return layered_layout(graph)
    raise ValueError(f"layout: kind must be 'auto', 'unrolled' or 'layered', got {kind!r}")
