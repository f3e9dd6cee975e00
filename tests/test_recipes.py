"""The code templates of the recipe page (``book/recipe.md``), executed as tests.

The page shows the lines between ``# [recipe: NAME]`` and ``# [end: NAME]`` with
``literalinclude``; the asserts after each block check that the template does what the page
says. The model is a small random CNN on 12x12 RGB images: the templates do not need a trained
network to run, and their checks hold for any model.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import shap
import torch
from scipy.stats import spearmanr
from torch import nn


@pytest.fixture
def setup():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 5 * 5, 3),
    ).eval()  # fmt: skip
    generator = torch.Generator().manual_seed(1)
    train_images = torch.rand(40, 3, 12, 12, generator=generator)
    images = torch.rand(2, 3, 12, 12, generator=generator)
    return model, train_images, images


def test_deep_explainer_and_its_additivity_check(setup):
    model, train_images, images = setup
    # [recipe: deep]
    # random training images (a few hundred in practice; 20 on this small test)
    pick = torch.randperm(len(train_images), generator=torch.Generator().manual_seed(0))
    background = train_images[pick[:20]]
    explainer = shap.DeepExplainer(model, background)
    shap_values = explainer.shap_values(images)  # (N, C, H, W, outputs)

    # each image's values add up to its output minus the background's average.
    # shap checks this itself and raises above 0.01; this prints the size, and
    # still works where you must pass check_additivity=False (ranked_outputs)
    with torch.no_grad():
        gap = model(images).numpy() - explainer.expected_value
    error = np.abs(shap_values.sum(axis=(1, 2, 3)) - gap).max()
    print(f"additivity error: {error / np.abs(gap).max():.1e} of the largest gap")
    # [end: deep]
    assert shap_values.shape == (2, 3, 12, 12, 3)
    assert error / np.abs(gap).max() < 1e-4


def test_gradient_explainer_adds_up_in_expectation(setup):
    model, train_images, images = setup
    # [recipe: gradient]
    with torch.no_grad():  # shap runs the model once here; no gradients needed
        explainer = shap.GradientExplainer(model, train_images[:20])
    shap_values = explainer.shap_values(images, nsamples=200, rseed=0)  # seeded
    with torch.no_grad():
        gap = model(images).numpy() - model(train_images[:20]).numpy().mean(axis=0)
    error = np.abs(shap_values.sum(axis=(1, 2, 3)) - gap).max()
    # Monte-Carlo noise: shrinks like 1 / sqrt(nsamples), never exactly 0
    print(f"additivity error: {error / np.abs(gap).max():.2f} of the largest gap")
    # [end: gradient]
    assert error / np.abs(gap).max() < 0.5


def test_layout_before_image_plot(setup):
    model, train_images, images = setup
    shap_values = shap.DeepExplainer(model, train_images[:20]).shap_values(images)
    # [recipe: layout]
    # PyTorch gives (N, C, H, W, outputs); shap.image_plot wants one array per
    # output, each (N, H, W, C), and the images channels-last too
    values_knhwc = np.moveaxis(shap_values, [4, 1], [0, -1])
    images_nhwc = images.numpy().transpose(0, 2, 3, 1)
    shap.image_plot(list(values_knhwc), images_nhwc, show=False)
    # [end: layout]
    assert values_knhwc.shape == (3, 2, 12, 12, 3) and images_nhwc.shape == (2, 12, 12, 3)
    np.testing.assert_array_equal(values_knhwc[1, 0, 4, 5, 2], shap_values[0, 2, 4, 5, 1])


def _noise_floor(model, train_images, images):
    # [recipe: floor]
    def explain(background):
        values = shap.DeepExplainer(model, background).shap_values(images)
        return values[..., 0].reshape(len(images), -1)  # output 0, flattened

    first, second = explain(train_images[:20]), explain(train_images[20:40])
    floor = [spearmanr(a, b).statistic for a, b in zip(first, second, strict=True)]
    print("rank correlation of two disjoint backgrounds, per image:", floor)
    # [end: floor]
    return np.array(floor)


def test_noise_floor_from_two_disjoint_backgrounds(setup):
    floor = _noise_floor(*setup)
    assert floor.shape == (2,) and np.all(floor > 0.3) and np.all(floor < 1)


def test_randomisation_check_changes_the_signed_map(setup):
    model, train_images, images = setup
    background = train_images[:20]
    # [recipe: randomise]
    randomised = copy.deepcopy(model)
    torch.manual_seed(1)
    randomised[-1].reset_parameters()  # the last layer (yours: e.g. randomised.fc)
    maps = [
        shap.DeepExplainer(m, background).shap_values(images)[..., 0].reshape(len(images), -1)
        for m in (model, randomised)
    ]
    changed = [spearmanr(a, b).statistic for a, b in zip(*maps, strict=True)]
    print("signed maps, trained vs randomised last layer:", changed)
    # compare with the noise floor above: a check that passes sits well below it
    # [end: randomise]
    floor = _noise_floor(model, train_images, images)
    assert np.all(np.array(changed) < floor - 0.3), (changed, floor)


def test_black_box_with_an_image_masker(setup):
    model, _, images = setup

    # [recipe: blackbox]
    def predict(images_nhwc):  # any function: channels-last pixels in 0..255
        x = torch.as_tensor(images_nhwc, dtype=torch.float32).permute(0, 3, 1, 2)
        with torch.no_grad():
            return model(x / 255).numpy()

    masker = shap.maskers.Image("blur(4,4)", (12, 12, 3))
    explainer = shap.Explainer(predict, masker)
    images_255 = images.numpy().transpose(0, 2, 3, 1) * 255
    explanation = explainer(images_255, max_evals=200, batch_size=50, outputs=[0])
    # values add up to f(x) minus f(everything hidden): explanation.base_values
    # [end: blackbox]
    values = explanation.values  # (N, H, W, C, outputs)
    assert values.shape == (2, 12, 12, 3, 1)
    np.testing.assert_allclose(
        values.sum(axis=(1, 2, 3))[:, 0] + explanation.base_values[:, 0],
        predict(images_255)[:, 0],
        rtol=1e-4,
        atol=1e-5,
    )


def test_a_layer_of_a_pytorch_model(setup):
    model, train_images, images = setup
    # [recipe: layer]
    from helpers import layers  # the course's package (see the page)

    head, tail = layers.split_at(model, model[3], images)  # cut before model[3]
    with torch.no_grad():
        background_h, images_h = head(train_images[:20]), head(images)
        explainer = shap.GradientExplainer(tail, background_h)
    layer_values = explainer.shap_values(images_h, nsamples=200, rseed=0)
    # the values live in the layer's space and add up, in expectation, to
    # model(x) minus the background's average output
    # [end: layer]
    with torch.no_grad():
        gap = model(images).numpy() - model(train_images[:20]).numpy().mean(axis=0)
    assert layer_values.shape == (2, 4, 5, 5, 3)
    error = np.abs(layer_values.sum(axis=(1, 2, 3)) - gap).max() / np.abs(gap).max()
    assert error < 0.5
