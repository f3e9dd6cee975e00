"""Minimal reproductions of the shap 0.51.0 behaviours the course warns about.

Each test asserts the behaviour as it is today, so that it FAILS when a shap upgrade changes it:
then the page ``book/known-issues.md`` (which shows these functions) and the chapters that rely
on it must be revisited. More reproductions, with ground truth, are in
``tests/test_shap_ground_truth.py`` and ``tests/test_layers.py``.
"""

import matplotlib
import numpy as np
import pytest
import shap
import torch
from torch import nn

matplotlib.use("Agg")


def _data(seed=0):
    torch.manual_seed(seed)
    return torch.randn(5, 4), torch.randn(2, 4)  # background, explained inputs


def test_reused_relu_gives_wrong_values_silently():
    """shap stores each module's forward input on the module (``add_interim_values`` in
    ``shap/explainers/_deep/deep_pytorch.py``); a module called twice keeps its last call only,
    and the rescale rule of the first call uses the wrong numbers. No error is raised."""
    background, x = _data()
    relu = nn.ReLU()
    model = nn.Sequential(nn.Linear(4, 6), relu, nn.Linear(6, 6), relu, nn.Linear(6, 3)).eval()
    values = shap.DeepExplainer(model, background).shap_values(x, check_additivity=False)
    with torch.no_grad():
        gap = (model(x) - model(background).mean(0)).numpy()
    assert np.abs(values.sum(axis=1) - gap).max() > 0.05 * np.abs(gap).max()


def test_inplace_relu_breaks_deep_explainer():
    """An ``inplace=True`` ReLU modifies a tensor that shap's backward hooks hold: PyTorch
    refuses with a RuntimeError (torchvision's ResNets use such ReLUs)."""
    background, x = _data()
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(inplace=True), nn.Linear(6, 3)).eval()
    with pytest.raises(RuntimeError, match="inplace"):
        shap.DeepExplainer(model, background).shap_values(x, check_additivity=False)


def test_ranked_outputs_fail_shaps_own_additivity_check():
    """With ``ranked_outputs``, ``PyTorchDeep.shap_values`` passes the ranked values to
    ``_check_additivity`` (``shap/explainers/_deep/deep_utils.py``), which compares them with
    the outputs in their original order (and loops over all of them): a correct explanation
    fails. The values themselves add up once each is matched with its own output."""
    background, x = _data()
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3)).eval()
    with torch.no_grad():
        model[2].bias.copy_(torch.tensor([-5.0, 0.0, 5.0]))  # ranked order: 2, 1, 0
    explainer = shap.DeepExplainer(model, background)
    with pytest.raises(AssertionError, match="do not sum up"):
        explainer.shap_values(x, ranked_outputs=2)
    values, indexes = explainer.shap_values(x, ranked_outputs=2, check_additivity=False)
    with torch.no_grad():
        outputs = model(x).numpy()
    base = np.asarray(explainer.expected_value)
    targets = np.take_along_axis(outputs, indexes.numpy(), axis=1) - base[indexes.numpy()]
    np.testing.assert_allclose(values.sum(axis=1), targets, rtol=1e-4, atol=1e-5)


def test_layer_mode_multiplies_by_the_layer_input():
    """``GradientExplainer((model, layer))`` in PyTorch sets ``samples_delta`` to the hooked
    layer input (``_PyTorchGradient.shap_values`` in ``shap/explainers/_gradient.py``). Explain
    an input against a background made of that same input: nothing differs, so the values
    should be 0; shap returns gradient x layer input instead."""
    _, x = _data()
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 1)).eval()
    values = shap.GradientExplainer((model, model[2]), x[:1]).shap_values(x[:1], nsamples=20)
    with torch.no_grad():
        layer_input = model[1](model[0](x[:1]))[0]
        gradient_times_input = (model[2].weight[0] * layer_input).numpy()
    np.testing.assert_allclose(values[0, :, 0], gradient_times_input, rtol=1e-5, atol=1e-6)
    assert np.abs(values).max() > 0.01


def test_image_plot_accepts_channels_first_arrays_without_error():
    """``shap.image_plot`` assumes ``(N, H, W, C)``. Given ``(N, C, H, W)`` it raises nothing
    and draws the channel axis as the image height: garbage that looks like a plot."""
    rng = np.random.default_rng(0)
    values_nchw, images_nchw = rng.random((2, 1, 8, 8)), rng.random((2, 1, 8, 8))
    shap.image_plot([values_nchw], images_nchw, show=False)
    figure = matplotlib.pyplot.gcf()
    first_image = figure.axes[0].images[0].get_array()
    assert first_image.shape[0] == 1  # one row of pixels: the channel axis taken for height
    matplotlib.pyplot.close(figure)


def test_image_masker_inpainting_casts_pixels_to_uint8():
    """``Image.inpaint`` (``shap/maskers/_image.py``) calls ``cv2.inpaint`` on
    ``x.astype(np.uint8)``: an image with pixels below 1 becomes black. Pixels must be in
    0..255 (chapter 6, Step 2); the blur masker has no such cast."""
    rng = np.random.default_rng(0)
    image01 = rng.uniform(0.2, 0.9, (16, 16, 3)).astype(np.float32)
    mask = np.ones(16 * 16 * 3, dtype=bool)
    mask[: 16 * 3 * 4] = False  # hide the first four rows
    inpainted = shap.maskers.Image("inpaint_telea", image01.shape)(mask, image01)[0][0]
    assert not inpainted.any()  # every pixel, shown or not, truncated to 0: a black image
    blurred = shap.maskers.Image("blur(3,3)", image01.shape)(mask, image01)[0][0]
    np.testing.assert_array_equal(blurred[4:], image01[4:])  # shown pixels kept as they are
    image255 = image01 * 255
    inpainted = shap.maskers.Image("inpaint_telea", image01.shape)(mask, image255)[0][0]
    assert inpainted[4:].min() > 40  # in 0..255 the shown pixels survive the cast
