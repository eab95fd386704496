"""Claims of lesson 01: where the gradient is largest in the two-layer example."""
import numpy as np

from claims import claim


@claim("01", "A parameter's, usually the second layer's `W` or `b`: a parameter's gradient adds up the "
             "contributions of all four examples in the batch")
def largest_gradient_is_a_parameter(seed):
    from rnnviz import Variable, functions as F, links as L

    np.random.seed(seed)
    rng = np.random.default_rng(seed)
    x = Variable(rng.standard_normal((4, 3)).astype(np.float32))
    target = rng.standard_normal((4, 1)).astype(np.float32)
    layer1, layer2 = L.Linear(3, 5), L.Linear(5, 1)
    a = layer1(x)
    h = F.tanh(a)
    y = layer2(h)
    F.mean_squared_error(y, target).backward(retain_grad=True)
    norms = {"x": x.grad, "a": a.grad, "h": h.grad, "y": y.grad, "W1": layer1.W.grad,
             "b1": layer1.b.grad, "W2": layer2.W.grad, "b2": layer2.b.grad}
    largest = max(norms, key=lambda k: np.linalg.norm(norms[k]))
    return {"the largest gradient is the second layer's W or b": largest in ("W2", "b2"),
            "tanh does not enlarge the gradient": np.linalg.norm(a.grad) <= np.linalg.norm(h.grad) + 1e-6}
