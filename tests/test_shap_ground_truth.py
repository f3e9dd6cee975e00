"""shap's explainers against ground truth: closed forms, values computed by hand, enumeration.

These tests check what the course *teaches* about shap 0.51.0, not that the code agrees with
itself. Each one names the source it relies on; if a future shap changes that behaviour, the test
fails and the chapter that states it must be revisited.
"""

import itertools
import math

import numpy as np
import pytest
import shap
import torch
from torch import nn
from torch.nn import functional as F


def exact_shapley(values_by_mask: np.ndarray) -> np.ndarray:
    """Shapley values of a game given as v[mask] for every coalition mask: (M,)."""
    n_players = int(round(math.log2(len(values_by_mask))))
    masks = np.arange(len(values_by_mask))
    sizes = np.array([bin(m).count("1") for m in masks])
    phi = np.zeros(n_players)
    for i in range(n_players):
        without = masks[(masks >> i) & 1 == 0]
        k = sizes[without]
        weight = np.array(
            [math.factorial(s) * math.factorial(n_players - s - 1) for s in k]
        ) / math.factorial(n_players)
        phi[i] = np.sum(weight * (values_by_mask[without | (1 << i)] - values_by_mask[without]))
    return phi


def baseline_game(f, x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """v[mask] = f(x on the players in mask, b elsewhere), for every mask."""
    n = len(x)
    z = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(bool)
    return f(np.where(z, x, b))


def test_exact_shapley_of_a_known_game():
    # v = 10 per player, +30 when players 0 and 1 are both present.
    v = np.array([10 * bin(m).count("1") + 30 * (m & 3 == 3) for m in range(8)], float)
    np.testing.assert_allclose(exact_shapley(v), [25, 25, 10])
    orders = np.zeros(3)
    for order in itertools.permutations(range(3)):
        mask = 0
        for p in order:
            orders[p] += v[mask | 1 << p] - v[mask]
            mask |= 1 << p
    np.testing.assert_allclose(orders / 6, [25, 25, 10])


class Affine(nn.Module):
    def __init__(self, weight, bias):
        super().__init__()
        self.linear = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.linear.weight.copy_(torch.as_tensor(weight))
            self.linear.bias.copy_(torch.as_tensor(bias))

    def forward(self, x):
        return self.linear(x)


@pytest.fixture
def linear_problem():
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(3, 5)).astype(np.float32)  # 3 outputs, 5 features
    bias = rng.normal(size=3).astype(np.float32)
    x = rng.normal(size=(4, 5)).astype(np.float32)
    background = rng.normal(size=(20, 5)).astype(np.float32)
    # closed form for a linear model: phi[n, i, k] = w[k, i] * (x[n, i] - mean(b)[i])
    truth = weight.T[None] * (x - background.mean(axis=0))[:, :, None]
    return weight, bias, x, background, truth


def test_pytorch_deep_explainer_on_a_linear_model_is_the_closed_form(linear_problem):
    weight, bias, x, background, truth = linear_problem
    model = Affine(weight, bias).eval()
    values = shap.DeepExplainer(model, torch.from_numpy(background)).shap_values(
        torch.from_numpy(x), check_additivity=False
    )
    np.testing.assert_allclose(values, truth, rtol=1e-5, atol=1e-5)


def test_pytorch_gradient_explainer_on_a_linear_model(linear_problem):
    weight, bias, x, background, truth = linear_problem
    model = Affine(weight, bias).eval()
    # One reference: the gradient is constant, so every sample is exact.
    one = shap.GradientExplainer(model, torch.from_numpy(background[:1]))
    values = one.shap_values(torch.from_numpy(x), nsamples=10, rseed=0)
    np.testing.assert_allclose(
        values, weight.T[None] * (x - background[0])[:, :, None], rtol=1e-5, atol=1e-5
    )
    # Many references: w * (x - b_r) averaged over sampled r. Its error is the sampling error
    # of the mean of the b_r: w * (mean of sampled b - mean b), bounded here by 5 sigma.
    nsamples = 4000
    many = shap.GradientExplainer(model, torch.from_numpy(background))
    values = many.shap_values(torch.from_numpy(x), nsamples=nsamples, rseed=0)
    sigma = np.abs(weight.T)[None] * background.std(axis=0)[None, :, None] / np.sqrt(nsamples)
    assert np.all(np.abs(values - truth) < 5 * sigma + 1e-6)


def test_keras_explainers_on_a_linear_model_are_the_closed_form(linear_problem):
    from helpers import report

    report.quiet_tensorflow()
    import keras

    weight, bias, x, background, truth = linear_problem
    inputs = keras.Input(shape=(5,))
    dense = keras.layers.Dense(3)
    model = keras.Model(inputs, dense(inputs))
    dense.set_weights([weight.T, bias])
    deep = shap.DeepExplainer(model, background).shap_values(x, check_additivity=False)
    np.testing.assert_allclose(deep, truth, rtol=1e-5, atol=1e-5)
    gradient = shap.GradientExplainer(model, background[:1]).shap_values(x, nsamples=10, rseed=0)
    np.testing.assert_allclose(
        gradient, weight.T[None] * (x - background[0])[:, :, None], rtol=1e-5, atol=1e-5
    )
    # Many references (shap/explainers/_gradient.py, _TFGradient.shap_values draws one per
    # sample): the error is the sampling error of the mean reference, bounded by 5 sigma.
    nsamples = 2000
    many = shap.GradientExplainer(model, background).shap_values(x[:2], nsamples=nsamples, rseed=0)
    sigma = np.abs(weight.T)[None] * background.std(axis=0)[None, :, None] / np.sqrt(nsamples)
    assert np.all(np.abs(many - truth[:2]) < 5 * sigma + 1e-6)
    assert np.abs(many - truth[:2]).max() > 1e-4  # it is an estimate, not the closed form


class ReluOfLinear(nn.Module):
    """f(x) = ReLU(w . x + c) for two inputs, the ReLU as its own module."""

    def __init__(self, w, c):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.relu = nn.ReLU()
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor([w], dtype=torch.float32))
            self.linear.bias.fill_(c)

    def forward(self, x):
        return self.relu(self.linear(x))


def test_deeplift_rescale_rule_by_hand():
    """f = ReLU(x1 + 2 x2 - 1), x = (1, 1), reference b = (0, 0).

    The ReLU's input goes from -1 (at b) to 2 (at x) and its output from 0 to 2, so the
    rescale multiplier is 2 / 3 and DeepLIFT gives (2/3 * 1 * 1, 2/3 * 2 * 1) = (2/3, 4/3).
    Shapley: v(none) = 0, v({1}) = ReLU(0) = 0, v({2}) = ReLU(1) = 1, v(both) = 2, hence
    phi_1 = (0 + 1) / 2 = 1/2 and phi_2 = (1 + 2) / 2 = 3/2. Both add up to 2; they differ.
    """
    model = ReluOfLinear([1.0, 2.0], -1.0).eval()
    x, b = torch.ones(1, 2), torch.zeros(1, 2)
    deep = shap.DeepExplainer(model, b).shap_values(x, check_additivity=False)[0, :, 0]
    np.testing.assert_allclose(deep, [2 / 3, 4 / 3], rtol=1e-6)
    v = baseline_game(lambda z: np.maximum(z @ [1.0, 2.0] - 1.0, 0), np.ones(2), np.zeros(2))
    np.testing.assert_allclose(exact_shapley(v), [0.5, 1.5])


def test_linear_on_the_segment_is_not_enough_for_deepshap_to_be_shapley():
    """f = ReLU(x1 - x2), x = (1, 1), b = (0, 0): f is 0 on the whole segment from b to x.

    The ReLU's input is 0 at both ends, so DeepLIFT falls back on the gradient (ReLU'(0) = 0 in
    PyTorch) and integrated gradients integrate 0: both give (0, 0). The Shapley value also
    uses the mixed inputs (1, 0) and (0, 1) and gives (+1/2, -1/2).
    """
    model = ReluOfLinear([1.0, -1.0], 0.0).eval()
    x, b = torch.ones(1, 2), torch.zeros(1, 2)
    deep = shap.DeepExplainer(model, b).shap_values(x, check_additivity=False)[0, :, 0]
    gradient = shap.GradientExplainer(model, b).shap_values(x, nsamples=50, rseed=0)[0, :, 0]
    v = baseline_game(lambda z: np.maximum(z @ [1.0, -1.0], 0), np.ones(2), np.zeros(2))
    np.testing.assert_allclose(exact_shapley(v), [0.5, -0.5])
    np.testing.assert_allclose(deep, [0.0, 0.0], atol=1e-7)
    np.testing.assert_allclose(gradient, [0.0, 0.0], atol=1e-7)


def test_deeplift_is_not_integrated_gradients_with_two_layers_of_relus():
    """f = ReLU(ReLU(2 x1 - 1) + ReLU(x2) - 1), x = (1, 1), b = (0, 0), no unit on a kink.

    DeepLIFT judges each unit by its two end points: multipliers 1/2 (first ReLU), 1 (second)
    and 1/2 (output) give (1/2, 1/2), here the Shapley values. Integrated gradients follow the
    segment, where f = 3t - 2 for t > 2/3 and 0 before: (2/3, 1/3). So DeepLIFT does not see
    the model "on the segment" only.
    """

    class TwoLayers(nn.Module):
        def __init__(self):
            super().__init__()
            self.first = nn.Linear(2, 2)
            self.relu1, self.relu2 = nn.ReLU(), nn.ReLU()
            self.out = nn.Linear(2, 1)
            with torch.no_grad():
                self.first.weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 1.0]]))
                self.first.bias.copy_(torch.tensor([-1.0, 0.0]))
                self.out.weight.copy_(torch.tensor([[1.0, 1.0]]))
                self.out.bias.copy_(torch.tensor([-1.0]))

        def forward(self, x):
            return self.relu2(self.out(self.relu1(self.first(x))))

    model = TwoLayers().eval()
    x, b = torch.ones(1, 2), torch.zeros(1, 2)
    deep = shap.DeepExplainer(model, b).shap_values(x)[0, :, 0]
    gradient = shap.GradientExplainer(model, b).shap_values(x, nsamples=4000, rseed=0)[0, :, 0]

    def f(z):
        hidden = np.maximum(np.stack([2 * z[:, 0] - 1, z[:, 1]], axis=1), 0)
        return np.maximum(hidden.sum(axis=1) - 1, 0)

    np.testing.assert_allclose(exact_shapley(baseline_game(f, np.ones(2), np.zeros(2))), [0.5, 0.5])
    np.testing.assert_allclose(deep, [0.5, 0.5], atol=1e-6)
    # Monte-Carlo: each value is 2 or 1 times an indicator of t > 2/3, SE <= 2 * 0.47 / sqrt(4000)
    np.testing.assert_allclose(gradient, [2 / 3, 1 / 3], atol=0.05)
    assert abs(gradient[0] - 0.5) > 0.1


def test_deep_and_gradient_are_shapley_without_interactions():
    """f = sum_i w_i tanh(x_i): one layer of one-input nonlinearities, no interactions.

    Shapley, DeepLIFT and integrated gradients all give w_i (tanh(x_i) - tanh(b_i)).
    """

    class Separable(nn.Module):
        def __init__(self):
            super().__init__()
            self.tanh = nn.Tanh()
            self.head = nn.Linear(3, 1, bias=False)
            with torch.no_grad():
                self.head.weight.copy_(torch.tensor([[1.0, -2.0, 0.5]]))

        def forward(self, x):
            return self.head(self.tanh(x))

    x, b = torch.tensor([[1.5, -0.5, 2.0]]), torch.tensor([[-1.0, 0.5, 0.0]])
    truth = np.array([1.0, -2.0, 0.5]) * (np.tanh(x[0].numpy()) - np.tanh(b[0].numpy()))
    v = baseline_game(lambda z: np.tanh(z) @ [1.0, -2.0, 0.5], x[0].numpy(), b[0].numpy())
    np.testing.assert_allclose(exact_shapley(v), truth, rtol=1e-6)
    deep = shap.DeepExplainer(Separable(), b).shap_values(x, check_additivity=False)
    np.testing.assert_allclose(deep[0, :, 0], truth, rtol=1e-5)
    gradient = shap.GradientExplainer(Separable(), b).shap_values(x, nsamples=4000, rseed=0)
    np.testing.assert_allclose(gradient[0, :, 0], truth, atol=0.02)  # Monte-Carlo in t


def _sixteen_player_game():
    rng = np.random.default_rng(1)
    w = rng.normal(size=16)
    pairs = np.triu(rng.normal(size=(16, 16)) * 0.3, 1)

    def f(z):
        return z @ w + np.einsum("ni,ij,nj->n", z, pairs, z) + np.tanh(z[:, :4].prod(axis=1))

    return f, exact_shapley(baseline_game(f, np.ones(16), np.zeros(16)))


def test_kernel_explainer_with_l1_reg_false_is_exact_at_full_enumeration():
    f, phi = _sixteen_player_game()
    kernel = shap.KernelExplainer(f, np.zeros((1, 16)))
    values = kernel.shap_values(np.ones((1, 16)), nsamples=2**16, l1_reg=False, silent=True)
    np.testing.assert_allclose(values[0], phi, atol=1e-10)


def test_kernel_explainer_default_l1_reg_keeps_ten_features():
    """shap/explainers/_kernel.py, KernelExplainer.solve: the default l1_reg is
    "num_features(10)", applied however many coalitions were evaluated; with 16 players six
    values are exactly 0 even at full enumeration."""
    f, phi = _sixteen_player_game()
    kernel = shap.KernelExplainer(f, np.zeros((1, 16)))
    values = kernel.shap_values(np.ones((1, 16)), nsamples=2**16, silent=True)[0]
    assert int(np.sum(values == 0)) == 6
    assert np.abs(values - phi).max() > 0.1
    np.testing.assert_allclose(values.sum(), phi.sum(), rtol=1e-9)  # efficiency is kept


def test_pytorch_softmax_is_treated_one_element_at_a_time():
    """shap/explainers/_deep/deep_pytorch.py: op_handler["Softmax"] = nonlinear_1d, which scales
    each element by delta_out / delta_in of that element. Against one reference, the map of
    probability k is the map of logit k times (p_k(x) - p_k(b)) / (z_k(x) - z_k(b)): the other
    classes' logits, which the softmax also depends on, get no share."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)).eval()
    probabilities = nn.Sequential(net, nn.Softmax(dim=1)).eval()
    x, b = torch.randn(2, 5), torch.randn(1, 5)
    logit_values = shap.DeepExplainer(net, b).shap_values(x, check_additivity=False)
    prob_values = shap.DeepExplainer(probabilities, b).shap_values(x, check_additivity=False)
    with torch.no_grad():
        z, zb = net(x), net(b)
        ratio = ((torch.softmax(z, 1) - torch.softmax(zb, 1)) / (z - zb)).numpy()  # (2, 3)
    np.testing.assert_allclose(prob_values, logit_values * ratio[:, None, :], rtol=1e-4, atol=1e-7)


def test_tensorflow_softmax_is_decomposed_and_adds_up_to_the_probabilities():
    """shap/explainers/_deep/deep_tf.py: op_handlers["Softmax"] = softmax, which rebuilds the
    softmax from exp, sum and division and propagates through each (chapter 2, Step 6). The
    probability values add up exactly, and class k's map is *not* its logit map times one
    number per image (which is what PyTorch's element-wise rule gives, the test above): the
    other classes' logits get a share."""
    from helpers import report

    report.quiet_tensorflow()
    import keras

    rng = np.random.default_rng(0)
    inputs = keras.Input(shape=(5,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    logits = keras.layers.Dense(3)(hidden)
    logit_model = keras.Model(inputs, logits)
    prob_model = keras.Model(inputs, keras.layers.Softmax()(logits))
    x = rng.normal(size=(2, 5)).astype("float32")
    b = rng.normal(size=(1, 5)).astype("float32")
    prob_values = shap.DeepExplainer(prob_model, b).shap_values(x, check_additivity=False)
    logit_values = shap.DeepExplainer(logit_model, b).shap_values(x, check_additivity=False)
    gap = prob_model(x).numpy() - prob_model(b).numpy()
    np.testing.assert_allclose(prob_values.sum(axis=1), gap, atol=1e-5)
    ratio = prob_values / logit_values  # (2, 5, 3): one number per image and class if 1-d
    spread = ratio.std(axis=1) / np.abs(ratio).mean(axis=1)
    assert spread.max() > 0.1, spread


def test_functional_relu_uses_the_reference_mask():
    """deep_pytorch.py, PyTorchDeep.shap_values: phi = grad[background half] * (x - b). An F.relu
    has no hook, so its ordinary derivative is taken at the reference b: for
    f = v . ReLU(W x + c) that is phi = (v * 1[W b + c > 0]) W * (x - b)."""

    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(4, 6)
            self.head = nn.Linear(6, 1)

        def forward(self, x):
            return self.head(F.relu(self.hidden(x)))

    torch.manual_seed(0)
    model = Functional().eval()
    x, b = torch.randn(1, 4), torch.randn(1, 4)
    values = shap.DeepExplainer(model, b).shap_values(x, check_additivity=False)[0, :, 0]
    w, c = model.hidden.weight.detach().numpy(), model.hidden.bias.detach().numpy()
    v = model.head.weight.detach().numpy()[0]
    mask_at_b = (w @ b[0].numpy() + c > 0).astype(np.float32)
    mask_at_x = (w @ x[0].numpy() + c > 0).astype(np.float32)
    assert (mask_at_b != mask_at_x).any()  # otherwise the test could not tell them apart
    expected = ((v * mask_at_b) @ w) * (x[0] - b[0]).numpy()
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-6)


def test_functional_relu_after_a_hooked_max_pool_mixes_both_images_masks():
    """The MnistCNN shape (conv -> nn.MaxPool2d -> ReLU), with F.relu. Backward, F.relu takes
    each half of shap's batch at its own image: the explained half through x's mask, the
    background half through b's. shap's ``maxpool`` rule (``deep_pytorch.py``) then mixes the
    halves: it un-pools grad_x * (max(p_x, p_b) - p_b) at x's argmax plus grad_b * (p_x -
    max(p_x, p_b)) at b's argmax, divides by the input difference and gives the sum to both
    halves. The result is computed here by hand; it is not "the reference's mask"."""

    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.pool, self.head = (
                nn.Conv2d(1, 2, 3, padding=1),
                nn.MaxPool2d(2),
                nn.Linear(18, 1),
            )

        def forward(self, x):
            return self.head(torch.flatten(F.relu(self.pool(self.conv(x))), 1))

    torch.manual_seed(3)
    model = Functional().eval()
    with torch.no_grad():
        model.conv.bias.fill_(-0.8)  # some units off at x, others at b
    x, b = torch.randn(1, 1, 6, 6), torch.randn(1, 1, 6, 6)
    values = shap.DeepExplainer(model, b).shap_values(x, check_additivity=False)[0, ..., 0]
    with torch.no_grad():
        c_x, c_b = model.conv(x), model.conv(b)
        (p_x, i_x), (p_b, i_b) = (F.max_pool2d(c, 2, return_indices=True) for c in (c_x, c_b))
        v = model.head.weight.reshape(1, 2, 3, 3)
        cross = torch.maximum(p_x, p_b)

        def by_hand(grad_x_half, grad_b_half):
            unpooled = F.max_unpool2d(grad_x_half * (cross - p_b), i_x, 2, output_size=c_x.shape)
            unpooled += F.max_unpool2d(grad_b_half * (p_x - cross), i_b, 2, output_size=c_x.shape)
            return unpooled / (c_x - c_b)

        mixed = by_hand(v * (p_x > 0), v * (p_b > 0))
        reference_only = by_hand(v * (p_b > 0), v * (p_b > 0))
    assert ((p_x > 0) != (p_b > 0)).any()  # otherwise the two readings could not differ

    def phi(multiplier):  # the conv is linear: its multipliers are its ordinary gradient
        z = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad((model.conv(z) * multiplier).sum(), z)
        return (grad * (x - b)).detach().numpy()[0]

    np.testing.assert_allclose(values, phi(mixed), rtol=1e-4, atol=1e-6)
    assert np.abs(values - phi(reference_only)).max() > 0.05 * np.abs(values).max()


@pytest.mark.parametrize("explainer", ["deep", "gradient"])
def test_shap_puts_the_model_in_eval_mode(explainer):
    """Both PyTorch explainers call model.eval() in their constructor (deep_pytorch.py and
    _gradient.py, _PyTorchGradient.__init__), and do not restore the mode."""
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4, 2)).train()
    background = torch.zeros(2, 3)
    if explainer == "deep":
        shap.DeepExplainer(model, background)
    else:
        shap.GradientExplainer(model, background)
    assert not model.training


def test_gradient_explainer_converges_to_integrated_gradients_averaged_over_the_background():
    """Expected gradients (shap/explainers/_gradient.py, _PyTorchGradient.shap_values: a random
    reference and a random t per sample) estimate the mean over references of integrated
    gradients from each reference, computed here by Gauss-Legendre quadrature; not Shapley."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
    with torch.no_grad():
        model[0].weight.mul_(3.0)  # saturating units: the features interact
    model.eval()
    x, references = torch.tensor([[1.5, 1.5, -1.0]]), torch.randn(3, 3)
    nodes, weights = np.polynomial.legendre.leggauss(32)
    integrated = np.zeros(3)
    for reference in references:
        for t, weight in zip((nodes + 1) / 2, weights / 2, strict=True):
            point = (reference + float(t) * (x[0] - reference)).requires_grad_(True)
            grad = torch.autograd.grad(model(point[None])[0, 0], point)[0]
            integrated += float(weight) * (grad * (x[0] - reference)).detach().numpy()
    integrated /= len(references)
    # the tolerance from the estimator's own spread: one sample is (x - b) * grad f at a point
    # t of the way from a random reference b to x; shap averages nsamples of them
    n = 20000
    generator = torch.Generator().manual_seed(1)
    drawn = references[torch.randint(len(references), (n,), generator=generator)]
    t = torch.rand(n, 1, generator=generator)
    points = (drawn + t * (x - drawn)).requires_grad_(True)
    grads = torch.autograd.grad(model(points).sum(), points)[0]
    standard_error = ((grads * (x - drawn)).detach().numpy().std(axis=0) / np.sqrt(n)).max()
    tolerance = 4 * standard_error  # a seed misses it with probability below 1e-4 per feature
    explainer = shap.GradientExplainer(model, references, batch_size=2000)
    for seed in range(10):
        estimate = explainer.shap_values(x, nsamples=n, rseed=seed)
        np.testing.assert_allclose(estimate[0, :, 0], integrated, atol=tolerance)
    exact = np.mean(
        [exact_shapley(baseline_game(
            lambda z: model(torch.as_tensor(z, dtype=torch.float32)).detach().numpy()[:, 0],
            x[0].numpy(), r.numpy())) for r in references], axis=0)  # fmt: skip
    assert np.abs(integrated - exact).max() > 3 * tolerance  # a different quantity here


def test_local_smoothing_targets_the_noisy_output_not_f_of_x():
    """shap/explainers/_gradient.py, _PyTorchGradient.shap_values: with local_smoothing=s, each
    sample starts from x + N(0, s^2) and multiplies by (x + noise) - b. For f = ||x||^2 and one
    reference b = 0 a sample's sum is 2 t ||x + e||^2, whose mean over t ~ U(0, 1) and the noise
    is E||x + e||^2 = ||x||^2 + d s^2: the values add up to E f(x + noise) - f(b), not to
    f(x) - f(b)."""

    class SquaredNorm(nn.Module):
        def forward(self, x):
            return (x**2).sum(dim=1, keepdim=True)

    torch.manual_seed(0)  # the noise comes from torch's generator, which rseed does not seed
    x, b, s = torch.tensor([[1.0, -2.0, 0.5, 1.5]]), torch.zeros(1, 4), 1.0
    explainer = shap.GradientExplainer(SquaredNorm(), b, local_smoothing=s)
    total = explainer.shap_values(x, nsamples=4000, rseed=0).sum()
    plain = float((x**2).sum())  # f(x) - f(b)
    assert abs(total - (plain + 4 * s**2)) < 0.4, total
    assert abs(total - plain) > 3, total


def test_pytorch_max_pooling_rule_by_hand():
    """shap/explainers/_deep/deep_pytorch.py, maxpool: with y = max(x), r = max(b) and
    c = max(y, r), the position of x's maximum gets c - r and that of b's maximum y - c.
    x = (2, 1), b = (0, 3): y = 2, r = 3, c = 3, so DeepSHAP gives (0, -1). The Shapley values
    of max(x0, x1) against b are (1/2, -3/2): v(none) = 3, v({0}) = 3, v({1}) = 1, v(all) = 2.
    """
    model = nn.Sequential(nn.MaxPool1d(2), nn.Flatten()).eval()
    x, b = torch.tensor([[[2.0, 1.0]]]), torch.tensor([[[0.0, 3.0]]])
    deep = shap.DeepExplainer(model, b).shap_values(x, check_additivity=False)
    np.testing.assert_allclose(deep.reshape(2), [0.0, -1.0], atol=1e-6)
    v = baseline_game(lambda z: z.max(axis=1), np.array([2.0, 1.0]), np.array([0.0, 3.0]))
    np.testing.assert_allclose(exact_shapley(v), [0.5, -1.5])
