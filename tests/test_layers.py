import re

import numpy as np
import pytest
import shap
import torch
from torch import nn

from helpers import layers, models
from helpers.torch_compat import import_torchvision


def _expected_gradients_at(model, layer, background, images, nsamples, seed=0):
    head, tail = layers.split_at(model, layer, images)
    values = layers.expected_gradients_at(model, layer, background, images, nsamples, seed)
    return values, head, tail


@pytest.mark.parametrize("stage", ["layer1", "layer2", "layer3", "layer4"])
def test_resnet_splits_at_every_stage_and_block(stage):
    resnet = import_torchvision().models.resnet18(weights=None, num_classes=4).eval()
    x = torch.rand(2, 3, 32, 32)
    head, tail = layers.split_at(resnet, getattr(resnet, stage), x)
    with torch.no_grad():
        torch.testing.assert_close(tail(head(x)), resnet(x), rtol=1e-5, atol=1e-5)
        inputs = {}
        hook = getattr(resnet, stage).register_forward_hook(lambda m, i, o: inputs.update(h=i[0]))
        resnet(x)
        hook.remove()
        torch.testing.assert_close(head(x), inputs["h"])  # head gives what enters the stage
    block_head, _ = layers.split_at(resnet, getattr(resnet, stage)[1], x)
    assert len(block_head) == len(head) + 1  # one block further


def test_vgg_splits_inside_features():
    tv = import_torchvision()
    features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))  # fmt: skip
    vgg = tv.models.vgg.VGG(features, num_classes=3, init_weights=False)
    vgg.classifier = nn.Sequential(nn.Linear(8 * 7 * 7, 16), nn.ReLU(), nn.Linear(16, 3))
    x = torch.rand(2, 3, 32, 32)
    head, tail = layers.split_at(vgg, vgg.features[3], x)
    assert head(x).shape == (2, 4, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(tail(head(x)), vgg(x))


def test_split_refuses_a_layer_inside_a_residual_block_naming_the_skip_connection():
    resnet = import_torchvision().models.resnet18(weights=None, num_classes=4).eval()
    x = torch.rand(1, 3, 32, 32)
    with pytest.raises(ValueError, match=r"skip connection.*layer3\.0.*input of `layer3\.0`"):
        layers.split_at(resnet, resnet.layer3[0].conv2, x)
    # the block's first convolution receives the block's own input: that cut is fine
    head, tail = layers.split_at(resnet, resnet.layer3[0].conv1, x)
    with torch.no_grad():
        torch.testing.assert_close(head(x), layers.split_at(resnet, resnet.layer3[0], x)[0](x))
        torch.testing.assert_close(tail(head(x)), resnet(x))

    class Branching(nn.Module):  # forward decides by the data: torch.fx cannot trace it
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(2, 2), nn.Linear(2, 2)

        def forward(self, x):
            return self.b(self.a(x)) if x.sum() > 0 else self.b(x)

    model = Branching()
    with pytest.raises(TypeError, match="cannot be traced"):
        layers.split_at(model, model.b, torch.rand(1, 2))


TORCHVISION_CUTS = {
    # model: (a cut between blocks, a cut that a block's skip connection crosses)
    "mobilenet_v3_small": ("features.5", "features.5.block.1"),
    "efficientnet_b0": ("features.3", "features.3.1.block.1"),
    "convnext_tiny": ("features.2", "features.1.0.block.1"),
    "regnet_y_400mf": ("trunk_output.block2", "trunk_output.block2.block2-1.f.b"),
}


@pytest.mark.parametrize("name", sorted(TORCHVISION_CUTS))
def test_split_any_traceable_torchvision_model(name):
    """torch.fx cut: tail(head(x)) == model(x) between blocks, and a refusal naming the skip
    connection inside one; the pieces share the model's weights and explain like any model."""
    tv = import_torchvision()
    torch.manual_seed(0)
    model = getattr(tv.models, name)(weights=None, num_classes=5).eval()
    modules = dict(model.named_modules())
    between, inside = TORCHVISION_CUTS[name]
    x = torch.rand(2, 3, 32, 32)
    head, tail = layers.split_at(model, modules[between], x)
    with torch.no_grad():
        torch.testing.assert_close(tail(head(x)), model(x), rtol=1e-5, atol=1e-5)
    shared = {id(p) for p in model.parameters()}
    assert {id(p) for p in tail.parameters()} <= shared
    block = inside.rsplit(".block", 1)[0] if ".block." in inside else inside.rsplit(".", 2)[0]
    with pytest.raises(ValueError, match=rf"skip connection.*`{re.escape(block)}"):
        layers.split_at(model, modules[inside], x)
    values = shap.GradientExplainer(tail, head(x).detach()).shap_values(
        head(x[:1]).detach(), nsamples=2, ranked_outputs=1, rseed=0
    )[0]
    assert values.shape[1:-1] == head(x).shape[1:]


def test_split_detects_a_forward_that_is_not_its_stages():
    class Doubling(nn.Sequential):
        def forward(self, x):
            return 2 * super().forward(x)

    model = Doubling(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 2))
    with pytest.raises(ValueError, match="differs from model"):
        layers.split_at(model, model[1], torch.rand(4, 3))


def test_split_keeps_the_model_mode_shares_weights_and_warns_in_training_mode():
    model = models.MnistCNN().train()
    with pytest.warns(UserWarning, match=r"model.eval\(\) first"):
        head, tail = layers.split_at(model, model.features[4], torch.rand(2, 1, 28, 28))
    assert model.training and all(m.training for m in head)  # the model's modules, its mode
    assert head[0] is model.features[0] and tail[-1] is model.classifier
    model.eval()
    assert not any(m.training for m in [*head, *tail])


def test_linear_tail_gives_the_closed_form():
    """Tail = Flatten + Linear: values are w * (h(x) - mean h(b)), up to background sampling."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    model.eval()
    background, images = torch.rand(6, 1, 6, 6), torch.rand(2, 1, 6, 6)
    nsamples = 4000
    values, head, _ = _expected_gradients_at(model, model[2], background, images, nsamples)
    values = values.reshape(2, 32, 3)  # (N, C, h, w, K) -> (N, C*h*w, K)
    with torch.no_grad():
        h_b, h_x = head(background).flatten(1).numpy(), head(images).flatten(1).numpy()
    weight = model[3].weight.detach().numpy()  # (3, 32)
    truth = weight.T[None] * (h_x - h_b.mean(axis=0))[:, :, None]  # (N, 32, 3)
    sigma = np.abs(weight.T)[None] * h_b.std(axis=0)[None, :, None] / np.sqrt(nsamples)
    assert np.all(np.abs(values - truth) <= 5 * sigma + 1e-6)
    one, _, _ = _expected_gradients_at(model, model[2], background[:1], images, 10)
    truth_one = weight.T[None] * (h_x - h_b[:1])[:, :, None]
    np.testing.assert_allclose(one.reshape(2, 32, 3), truth_one, rtol=1e-4, atol=1e-6)


def test_nonlinear_tail_adds_up_as_nsamples_grows():
    torch.manual_seed(0)
    model = models.MnistCNN(n_classes=3).eval()
    background, images = torch.rand(8, 1, 28, 28), torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        gap = (model(images) - model(background).mean(0)).numpy()  # (3, 3)
    errors = []
    for nsamples in (20, 2000):
        values, _, _ = _expected_gradients_at(model, model.features[4], background, images,
                                              nsamples)  # fmt: skip
        sums = values.reshape(3, -1, 3).sum(axis=1)
        errors.append(np.abs(sums - gap).max() / np.abs(gap).max())
    assert errors[1] < errors[0] / 2, errors
    assert errors[1] < 0.1, errors


def test_shap_model_layer_mode_does_not_add_up_but_the_split_does():
    """shap 0.51.0's (model, layer) mode multiplies by the layer input at the sampled point
    (``_PyTorchGradient.shap_values``, ``samples_delta``). On a linear tail the split gives
    w * (h(x) - mean h(b)); shap's mode gives w * mean h(sampled point), a different quantity."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(32, 1)).eval()
    background, images = torch.rand(1, 1, 6, 6), torch.rand(2, 1, 6, 6)
    split, head, tail = _expected_gradients_at(model, model[2], background, images, 200)
    shap_mode = shap.GradientExplainer((model, model[2]), background).shap_values(
        images, nsamples=200, rseed=0
    )
    with torch.no_grad():
        gap = (model(images) - model(background)).numpy()[:, 0]
    np.testing.assert_allclose(split.reshape(2, -1).sum(axis=1), gap, rtol=1e-4, atol=1e-6)
    assert np.abs(shap_mode.reshape(2, -1).sum(axis=1) - gap).max() > 0.1 * np.abs(gap).max()


def test_expected_gradients_at_one_output_and_ranked_outputs():
    """output=k is the k-th column of the full explanation (same seed, same samples);
    ranked_outputs=1 explains each image's top output and says which."""
    torch.manual_seed(0)
    model = models.MnistCNN(n_classes=3).eval()
    background, images = torch.rand(5, 1, 28, 28), torch.rand(2, 1, 28, 28)
    layer = model.features[4]
    every = layers.expected_gradients_at(model, layer, background, images, 30, rseed=3)
    one = layers.expected_gradients_at(model, layer, background, images, 30, rseed=3, output=2)
    assert one.shape == (*every.shape[:-1], 1)
    np.testing.assert_allclose(one[..., 0], every[..., 2], rtol=1e-5, atol=1e-7)
    ranked, ranks = layers.expected_gradients_at(model, layer, background, images, 30, rseed=3,
                                                 ranked_outputs=1)  # fmt: skip
    with torch.no_grad():
        top = model(images).argmax(dim=1).numpy()
    assert isinstance(ranks, np.ndarray)
    np.testing.assert_array_equal(ranks[:, 0], top)
    np.testing.assert_allclose(ranked[..., 0], every[np.arange(2), ..., top], rtol=1e-5,
                               atol=1e-7)  # fmt: skip


def test_keras_layer_path_and_the_pytorch_split_give_the_same_values():
    """The same network in both frameworks: shap's Keras ``(layer.input, model.output)`` and
    :func:`layers.expected_gradients_at` in PyTorch explain the same quantity. Both draw the
    reference and t from NumPy's generator seeded with ``rseed`` (``_TFGradient`` and
    ``_PyTorchGradient.shap_values``), so they agree sample for sample."""
    from helpers import report

    report.quiet_tensorflow()
    import keras

    rng = np.random.default_rng(0)
    w1, b1 = rng.normal(size=(4, 6)), rng.normal(size=6)
    w2, b2 = rng.normal(size=(6, 3)), rng.normal(size=3)
    w3, b3 = rng.normal(size=(3, 2)), rng.normal(size=2)
    inputs = keras.Input(shape=(4,))
    dense1, dense2 = keras.layers.Dense(6, activation="tanh"), keras.layers.Dense(3)
    dense3 = keras.layers.Dense(2)
    keras_model = keras.Model(inputs, dense3(keras.activations.tanh(dense2(dense1(inputs)))))
    for layer, w, b in ((dense1, w1, b1), (dense2, w2, b2), (dense3, w3, b3)):
        layer.set_weights([w.astype(np.float32), b.astype(np.float32)])
    torch_model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3), nn.Tanh(),
                                nn.Linear(3, 2)).eval()  # fmt: skip
    with torch.no_grad():
        for linear, w, b in zip(torch_model[::2], (w1, w2, w3), (b1, b2, b3), strict=True):
            linear.weight.copy_(torch.as_tensor(w.T))
            linear.bias.copy_(torch.as_tensor(b))
    background = rng.normal(size=(10, 4)).astype(np.float32)
    images = rng.normal(size=(3, 4)).astype(np.float32)
    to_layer = keras.Model(inputs, dense2.input)
    keras_values = shap.GradientExplainer(
        (dense2.input, keras_model.output), to_layer.predict(background, verbose=0)
    ).shap_values(to_layer.predict(images, verbose=0), nsamples=200, rseed=7)
    torch_values = layers.expected_gradients_at(
        torch_model, torch_model[2], torch.from_numpy(background), torch.from_numpy(images),
        nsamples=200, rseed=7)  # fmt: skip
    assert np.shape(keras_values) == torch_values.shape == (3, 6, 2)
    assert np.abs(torch_values).max() > 0.1  # not trivially equal
    np.testing.assert_allclose(keras_values, torch_values, rtol=1e-4, atol=1e-5)


class _Square(nn.Module):
    """f(x) = sum(x**2): expected gradients have a closed form, E_b[x_i**2 - b_i**2]."""

    def forward(self, x):
        return (x**2).sum(dim=1, keepdim=True)


def _square_setup():
    generator = torch.Generator().manual_seed(0)
    background = torch.randn(5, 4, generator=generator)
    image = torch.randn(1, 4, generator=generator) + 1.0
    exact = (image[0] ** 2 - (background**2).mean(dim=0)).numpy()
    return shap.GradientExplainer(_Square(), background), image, exact


def test_one_chunk_is_exactly_shaps_own_call():
    explainer, image, _ = _square_setup()
    plain = explainer.shap_values(image, nsamples=12, rseed=7)
    np.testing.assert_array_equal(layers.shap_values_in_chunks(explainer, image, 12, 12, 7), plain)
    np.testing.assert_array_equal(layers.shap_values_in_chunks(explainer, image, 12, 50, 7), plain)


def test_chunks_give_the_same_estimator_as_one_call():
    """Unbiased against the closed form, and as noisy as one call of the same total size.

    The spread check can say no: an average of the first chunk only (a plausible bug) has
    twice the standard deviation with four chunks, far outside the band.
    """
    explainer, image, exact = _square_setup()
    repeats, nsamples, chunk = 40, 40, 10
    one_call = np.stack(
        [explainer.shap_values(image, nsamples=nsamples, rseed=s)[0, :, 0] for s in range(repeats)]
    )
    chunked = np.stack(
        [
            layers.shap_values_in_chunks(explainer, image, nsamples, chunk, 1000 + s)[0, :, 0]
            for s in range(repeats)
        ]
    )
    first_chunk_only = np.stack(
        [
            explainer.shap_values(image, nsamples=chunk, rseed=2000 + s)[0, :, 0]
            for s in range(repeats)
        ]
    )
    standard_error = chunked.std(axis=0, ddof=1) / np.sqrt(repeats)
    assert np.all(np.abs(chunked.mean(axis=0) - exact) < 4 * standard_error)
    # log ratio of two standard deviations from 40 draws each: SE ~ 0.16; band ~ +-3 SE
    ratio = chunked.std(axis=0, ddof=1) / one_call.std(axis=0, ddof=1)
    assert np.all((ratio > 0.6) & (ratio < 1.6)), ratio
    wrong = first_chunk_only.std(axis=0, ddof=1) / one_call.std(axis=0, ddof=1)
    assert np.all(wrong > 1.6), wrong


def test_chunks_with_ranked_outputs_and_bad_arguments():
    model = nn.Sequential(nn.Linear(4, 3)).eval()
    background, images = torch.randn(6, 4), torch.randn(2, 4)
    explainer = shap.GradientExplainer(model, background)
    values, ranks = layers.shap_values_in_chunks(explainer, images, 9, 4, 0, ranked_outputs=2)
    _, shap_ranks = explainer.shap_values(images, nsamples=9, rseed=0, ranked_outputs=2)
    assert values.shape == (2, 4, 2) and isinstance(ranks, np.ndarray)
    np.testing.assert_array_equal(ranks, shap_ranks.numpy())
    with pytest.raises(ValueError, match="must be at least 1"):
        layers.shap_values_in_chunks(explainer, images, 9, 0, 0)


def test_expected_gradients_at_in_chunks_adds_up_like_one_call():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)).eval()
    background, images = torch.randn(10, 4), torch.randn(3, 4)
    chunked = layers.expected_gradients_at(model, model[1], background, images, 64, 0, chunk=8)
    one = layers.expected_gradients_at(model, model[1], background, images, 64, 0)
    with torch.no_grad():
        gap = (model(images) - model(background).mean(dim=0)).numpy()
    assert chunked.shape == one.shape == (3, 8, 2)
    error_chunked = np.abs(chunked.sum(axis=1) - gap).max()
    error_one = np.abs(one.sum(axis=1) - gap).max()
    assert error_chunked < 0.1 * np.abs(gap).max() and error_one < 0.1 * np.abs(gap).max()


def test_split_refuses_a_cut_before_an_in_place_activation():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(inplace=True), nn.Linear(6, 2)).eval()
    background, images = torch.randn(5, 4), torch.randn(2, 4)
    # what the refusal prevents: the tail's in-place ReLU fails inside autograd
    tail = nn.Sequential(*list(model)[1:])
    with torch.no_grad():
        background_h, images_h = model[0](background), model[0](images)
    with pytest.raises(RuntimeError, match="in-place"):
        shap.GradientExplainer(tail, background_h).shap_values(images_h, nsamples=4)
    with pytest.raises(ValueError, match="in-place ReLU.*inplace = False"):
        layers.split_at(model, model[1], images)
    head, tail = layers.split_at(model, model[2], images)  # after it: fine
    assert tail(head(images)).shape == (2, 2)
