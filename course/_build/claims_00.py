"""Claims of lesson 00 (the tour): node counts and what the memorised demo model predicts."""
import numpy as np

from claims import claim


def _rnn_counts(seed):
    import rnnviz
    from rnnviz import functions as F, links as L

    rng = np.random.default_rng(seed)
    rnn = L.RNN(3, 4)
    xs = [rnnviz.Variable(rng.standard_normal((1, 3)).astype(np.float32)) for _ in range(5)]
    counts = []
    for t, x in enumerate(xs):
        before = rnnviz.live_function_node_count()
        h = rnn(x)
        counts.append(rnnviz.live_function_node_count() - before)
    before = rnnviz.live_function_node_count()
    loss = F.sum(h * h)
    return counts, rnnviz.live_function_node_count() - before, loss


@claim("00", "Each step records {per_step} nodes: the input's linear map and the state's linear map "
             "(two `Linear`), their sum (`Add`) and the `tanh`. The first step has no previous state "
             "to map and add, so it records only {first}: a `Linear` and the `tanh`. That makes "
             "{steps} for the five steps, and the loss adds {loss} more", rel=0)
def rnn_step_nodes(seed):
    counts, for_loss, _ = _rnn_counts(seed)
    return {"per_step": counts[1], "first": counts[0], "steps": sum(counts), "loss": for_loss,
            "every later step records the same": len(set(counts[1:])) == 1}


def _live_at_most(bprop_len, seed):
    from rnnviz.experiments import measure
    from rnnviz.experiments.demo import demo_data, demo_model
    from rnnviz.experiments.model import StepModel

    xs, ts, _ = demo_data(12)
    sm = StepModel(demo_model(seed=seed), who="claims")
    return max(s["live"] for s in measure.run_truncated(sm, xs, ts, bprop_len))


@claim("00", "At most {one} function nodes are alive, those of the step being computed", rel=0)
def live_nodes_bprop_len_1(seed):
    return {"one": _live_at_most(1, seed)}


@claim("00", "With **bprop_len** 3 it is {three}, three steps' worth", rel=0)
def live_nodes_bprop_len_3(seed):
    three = _live_at_most(3, seed)
    return {"three": three, "three times the nodes of one step": three == 3 * _live_at_most(1, seed)}


@claim("00", "The model predicts every word of its text right, each with a probability above {p}",
       rel=0.05)
def demo_model_memorised(seed):
    import rnnviz
    from rnnviz import functions as F
    from rnnviz.experiments.demo import demo_data, demo_model

    model = demo_model(seed=seed)
    model.reset_state()
    xs, ts, vocab = demo_data(12)
    probs, right = [], []
    with rnnviz.no_backprop_mode():
        for x, t in zip(xs, ts):
            y = F.softmax(model.predictor(x)).array[0]
            probs.append(float(y[t[0]]))
            right.append(int(y.argmax()) == int(t[0]))
    follows_the = {vocab[t[0]] for x, t in zip(xs, ts) if vocab[x[0]] == "the"}
    return {"p": min(probs), "each probability is above 0.95": min(probs) > 0.95,
            "every next word is predicted right": all(right),
            "the is followed by cat, mat, dog and log in the 12 steps shown":
                follows_the == {"cat", "mat", "dog", "log"}}
