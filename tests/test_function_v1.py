"""Old-style Function: forward/backward on tuples of arrays, recorded in the same graph."""
import numpy as np
import pytest

import rnnviz
from rnnviz import Function, Variable, gradient_check
from rnnviz.graph import trace


class MulAdd(Function):
    """w = x * y + z"""

    def forward_cpu(self, inputs):
        x, y, z = inputs
        return x * y + z,

    def backward_cpu(self, inputs, grad_outputs):
        x, y, z = inputs
        gw, = grad_outputs
        return y * gw, x * gw, gw


class SplitSquare(Function):
    """(a, b) = (x^2, 3x), using only the output it keeps"""

    def forward(self, inputs):
        x, = inputs
        self.retain_inputs(())
        return x * x, 3 * x

    def backward(self, inputs, grad_outputs):
        assert inputs == (None,)  # not retained
        a, _ = self.output_data
        ga, gb = grad_outputs
        return 2 * np.sqrt(a) * ga + 3 * gb,


def test_forward_and_gradients_against_finite_differences(rng):
    x, y, z = (rng.standard_normal((3, 4)) for _ in range(3))
    w = MulAdd()(Variable(x), Variable(y), Variable(z))
    np.testing.assert_allclose(w.array, x * y + z)
    gradient_check.check_backward(lambda *v: MulAdd()(*v), (x, y, z))
    x = np.abs(rng.standard_normal(5)) + 0.5
    gradient_check.check_backward(lambda v: SplitSquare()(v), (x,))


def test_a_function_is_one_node_of_the_graph_with_its_class_name():
    x = Variable(np.ones((2, 2)))
    w = MulAdd()(x, x, np.full((2, 2), 2.0))
    loss = rnnviz.functions.sum(w * w)
    labels = [n.label for n in trace(loss).nodes if getattr(n, "kind", "function") == "function"]
    assert "MulAdd" in labels
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * 3.0 * 2 * np.ones((2, 2)))  # d/dx (x^2+2)^2 = 2w * 2x
    loss.unchain_backward()
    assert w.creator is None


def test_missing_backward_and_wrong_gradient_count_are_named():
    class NoBackward(Function):
        def forward(self, inputs):
            return inputs[0] * 2,

    class TooFew(Function):
        def forward(self, inputs):
            return inputs[0] + inputs[1],

        def backward(self, inputs, grad_outputs):
            return grad_outputs[0],

    y = NoBackward()(Variable(np.ones(2)))
    y.grad = np.ones(2)
    with pytest.raises(NotImplementedError, match="NoBackward: define backward"):
        y.backward()
    y = TooFew()(Variable(np.ones(2)), Variable(np.ones(2)))
    y.grad = np.ones(2)
    with pytest.raises(ValueError, match="TooFew.backward returned 1 gradients for 2 inputs"):
        y.backward()


def test_no_graph_in_no_backprop_mode():
    with rnnviz.no_backprop_mode():
        w = MulAdd()(Variable(np.ones(2)), Variable(np.ones(2)), Variable(np.ones(2)))
    assert w.creator is None
