"""helpers.deep_ready: the rewritten copy computes the same function and DeepExplainer adds up.

The models are shaped like the ones in shap's issue tracker (written here, no download): a
plain MNIST CNN with ``F.relu`` and ``F.max_pool2d`` in ``forward`` (shap #3938), a block
holding ``nonlin=F.relu`` (#3363), an activation module called twice (#3725).
"""

import copy
import warnings

import numpy as np
import pytest
import shap
import torch
from torch import nn
from torch.nn import functional as F

from helpers.deep_ready import DeepReadyError, deep_ready
from helpers.explain import check_additivity


class MnistNet3938(nn.Module):
    """shap #3938: conv, F.max_pool2d, F.relu in forward, x.view, two linear layers."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 12, 5)
        self.fc1 = nn.Linear(12 * 4 * 4, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = x.view(-1, 12 * 4 * 4)
        return self.fc2(F.relu(self.fc1(x)))


class Block3363(nn.Module):
    """shap #3363: a layer that holds its nonlinearity as a function attribute."""

    def __init__(self, n_in, n_out, nonlin=F.relu):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)
        self.nonlin = nonlin

    def forward(self, x):
        return self.nonlin(self.linear(x))


class Reused3725(nn.Module):
    """shap #3725: one activation module called twice, one in-place ReLU, Tensor.relu(),
    a sigmoid method and a functional in-place relu_ whose input is read again."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(6, 8), nn.Linear(8, 8), nn.Linear(8, 3)
        self.act = nn.Tanh()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        h = self.act(self.fc1(x))
        h = self.relu(self.act(self.fc2(h)))
        g = self.fc3(h)
        F.relu_(g)  # in place: the next line reads the rectified g
        return (g + self.fc3(h).relu()).sigmoid()


def _gap_error(model, background, x):
    """Additivity error of DeepExplainer as a share of the largest gap |f(x) - E f|."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = shap.DeepExplainer(model, background)
        values = explainer.shap_values(x, check_additivity=False)
    with torch.no_grad():
        outputs = model(x)
    return check_additivity(values, explainer.expected_value, outputs, raise_error=False)


def _same_model(a, b):
    """Same module tree (names, types, inplace flags), same parameter values, same mode."""
    tree = lambda m: [(n, type(s).__name__, getattr(s, "inplace", None), s.training)  # noqa: E731
                      for n, s in m.named_modules()]  # fmt: skip
    params_a, params_b = a.state_dict(), b.state_dict()
    return (
        tree(a) == tree(b)
        and params_a.keys() == params_b.keys()
        and all(torch.equal(params_a[k], params_b[k]) for k in params_a)
    )


def test_mnist_cnn_with_functional_relu_and_max_pool_adds_up_after_the_rewrite():
    torch.manual_seed(0)
    model = MnistNet3938().train()
    untouched = copy.deepcopy(model)
    background, x = torch.randn(8, 1, 28, 28), torch.randn(2, 1, 28, 28)
    before = _gap_error(model.eval(), background, x)
    model.train()
    ready, report = deep_ready(model, x)
    assert _same_model(model, untouched)  # the original is not modified, mode included
    assert report.max_abs_difference == 0.0
    assert [c.kind for c in report.changes] == ["functional"] * 5
    assert "F.max_pool2d() at test_deep_ready.py" in str(report)
    assert report.preflight.ok
    after = _gap_error(ready, background, x)
    assert before.max_gap_error > 0.1  # visibly wrong before
    assert after.max_gap_error < 1e-5  # float precision after
    with torch.no_grad():
        assert torch.equal(ready(x), model.eval()(x))


def test_nonlinearity_held_as_a_function_attribute_is_rewritten():
    torch.manual_seed(1)
    model = nn.Sequential(Block3363(5, 8), Block3363(8, 8, torch.sigmoid), nn.Linear(8, 2))
    background, x = torch.randn(16, 5), torch.randn(3, 5)
    before = _gap_error(model, background, x)
    ready, report = deep_ready(model, x)
    assert [c.module for c in report.changes] == ["relu (ReLU)", "sigmoid (Sigmoid)"]
    assert before.max_gap_error > 0.01
    assert _gap_error(ready, background, x).max_gap_error < 1e-5


def test_reused_and_inplace_modules_get_their_own_out_of_place_copies():
    torch.manual_seed(2)
    model = Reused3725().eval()
    untouched = copy.deepcopy(model)
    background, x = torch.randn(16, 6), torch.randn(3, 6)
    with pytest.raises(RuntimeError, match="inplace"):  # shap's hooks and relu_ collide
        _gap_error(copy.deepcopy(model), background, x)
    ready, report = deep_ready(model, x)
    assert _same_model(model, untouched) and model.relu.inplace
    kinds = [c.kind for c in report.changes]
    assert kinds.count("reused") == 1 and kinds.count("inplace") == 1
    assert kinds.count("functional") == 3  # relu_, Tensor.relu, Tensor.sigmoid
    assert "act (Tanh), call 2 of 2" in str(report)
    assert not any(getattr(m, "inplace", False) for m in ready.modules())
    assert report.max_abs_difference == 0.0  # the in-place relu_ is still seen by its reader
    assert report.preflight.ok, str(report.preflight)
    assert _gap_error(ready, background, x).max_gap_error < 1e-5


def test_untraceable_model_gets_an_error_naming_the_line_and_the_way_out():
    class DataDependent(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            if x.sum() > 0:  # Python control flow on a value: fx cannot record it
                x = -x
            return F.relu(self.fc(x))

    with pytest.raises(
        DeepReadyError, match=r"test_deep_ready.py:\d+ in forward: if x.sum\(\) > 0"
    ):
        deep_ready(DataDependent(), torch.randn(2, 4))
    with pytest.raises(DeepReadyError, match="GradientExplainer"):
        deep_ready(DataDependent(), torch.randn(2, 4))


def test_overlapping_max_pool_is_left_and_reported():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1),
                          nn.Flatten(), nn.Linear(2 * 4 * 4, 2))  # fmt: skip
    ready, report = deep_ready(model, torch.rand(2, 1, 10, 10))
    assert report.preflight.overlapping_maxpool == [f"2 ({model[2]})"]
    assert not report.preflight.ok and "GradientExplainer" in str(report)


def test_a_copy_that_computes_something_else_is_refused(monkeypatch):
    import helpers.deep_ready as module

    def break_it(graph_module):
        with torch.no_grad():
            graph_module.fc.bias += 1.0
        return []

    class Small(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 1)

        def forward(self, x):
            return self.fc(x)

    monkeypatch.setattr(module, "_rewrite", break_it)
    with pytest.raises(DeepReadyError, match=r"differs from it by 1\.00e\+00"):
        deep_ready(Small(), torch.randn(2, 3))
    with pytest.raises(TypeError, match="torch.nn.Module"):
        deep_ready(np.zeros(3), torch.randn(2, 3))
