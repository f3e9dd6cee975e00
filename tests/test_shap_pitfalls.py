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


def test_partition_map_depends_on_batch_size():
    """``PartitionExplainer.owen`` (``shap/explainers/_partition.py``) pops up to
    ``batch_size`` items from its priority queue before it evaluates them, so which groups get
    opened within ``max_evals`` depends on the batch size: the same image, seed and budget give
    another map (chapter 6, Step 2), though both share out the same total."""
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (8, 8, 3)).astype(np.float32)
    weights = rng.normal(size=(8 * 8 * 3, 2))

    def model(images):
        """Output 0 hangs mostly on a 2x2 corner: the queue wants to dig there."""
        x = images.reshape(len(images), 8, 8, 3) / 255
        corner = x[:, :2, :2].reshape(len(images), -1).sum(axis=1)
        flat = x.reshape(len(images), -1)
        return np.stack(
            [10 * corner**2 + np.tanh(flat @ weights[:, 0]), np.tanh(flat @ weights[:, 1])], axis=1
        )

    masker = shap.maskers.Image(np.zeros(image.shape, dtype=np.float32), image.shape)
    explainer = shap.PartitionExplainer(model, masker)
    maps = {}
    for batch_size in (1, 10):
        np.random.seed(0)  # noqa: NPY002 (shap's queue breaks ties with numpy's global state)
        maps[batch_size] = explainer(
            image[None], max_evals=60, batch_size=batch_size, silent=True
        ).values
    assert np.abs(maps[1] - maps[10]).max() > 0.5  # measured: 1.8, on a total of 490
    for batch_size in (1, 10):
        np.testing.assert_allclose(maps[batch_size].sum(), maps[1].sum(), rtol=1e-5)


def _conv_relu_pool_net(pool, seed=0):
    """Conv -> ReLU -> ``pool`` -> Linear on 8x8 grey images, random weights; and its data."""
    torch.manual_seed(seed)
    features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), pool, nn.Flatten())
    with torch.no_grad():
        width = features(torch.zeros(1, 1, 8, 8)).shape[1]
    model = nn.Sequential(*features, nn.Linear(width, 3)).eval()
    generator = torch.Generator().manual_seed(seed + 100)
    background = torch.rand(16, 1, 8, 8, generator=generator)
    return model, background, torch.rand(4, 1, 8, 8, generator=generator)


def _share_of_gap(model, background, x, values_nchwk):
    """max |sum(values) - (f(x) - mean f(background))| / max |f(x) - mean f(background)|."""
    with torch.no_grad():
        gap = (model(x) - model(background).mean(0)).numpy()
    totals = np.asarray(values_nchwk).reshape(len(x), -1, gap.shape[1]).sum(axis=1)
    return float(np.abs(totals - gap).max() / np.abs(gap).max())


POOLS = {  # kernel, stride, padding: overlapping when the stride is smaller than the kernel
    "MaxPool2d(2)": (nn.MaxPool2d(2), False),
    "MaxPool2d(3, 3)": (nn.MaxPool2d(3, 3), False),
    "MaxPool2d(3, 2, padding=1)": (nn.MaxPool2d(3, 2, padding=1), True),
    "MaxPool2d(3, 1, padding=1)": (nn.MaxPool2d(3, 1, padding=1), True),
}


@pytest.mark.parametrize("name", list(POOLS))
def test_overlapping_max_pool_windows_break_deep_explainer_additivity(name):
    """shap's ``maxpool`` rule (``shap/explainers/_deep/deep_pytorch.py``) spreads each output's
    difference back with ``max_unpool2d``, which writes one value per input position: where two
    windows pick the same input (stride < kernel), one contribution is lost, so the values no
    longer add up to f(x) - E f. Non-overlapping windows add up to float precision (the
    control; every net is also the same conv, ReLU and data)."""
    pool, overlapping = POOLS[name]
    model, background, x = _conv_relu_pool_net(pool)
    values = shap.DeepExplainer(model, background).shap_values(x, check_additivity=False)
    error = _share_of_gap(model, background, x, values)
    print(f"{name}: shap DeepExplainer additivity error {error:.2g} of the gap")
    if overlapping:
        assert error > 0.1  # measured 0.54 and 0.76 of the gap
    else:
        assert error < 1e-5  # measured 2e-7 and 3e-7


@pytest.mark.parametrize("name", list(POOLS))
def test_captum_deeplift_shap_misses_additivity_on_the_same_nets(name):
    """Captum 0.9.0's ``DeepLiftShap`` (its ``maxpool`` rule in ``captum/attr/_core/
    deep_lift.py`` also un-pools with ``max_unpool2d``) is no cross-check here: on these
    conv-ReLU-max-pool nets it misses additivity with and without overlapping windows
    (measured 0.4 to 1.6 of the gap over four seeds; a conv followed by the pool alone, no
    ReLU, adds up to 1e-7)."""
    from captum.attr import DeepLiftShap

    model, background, x = _conv_relu_pool_net(POOLS[name][0])
    values = np.stack(
        [DeepLiftShap(model).attribute(x, baselines=background, target=k).detach().numpy()
         for k in range(3)], axis=-1)  # fmt: skip
    error = _share_of_gap(model, background, x, values)
    print(f"{name}: Captum DeepLiftShap additivity error {error:.2g} of the gap")
    assert error > 0.1


def test_gradient_explainer_runs_the_model_with_gradients_on_in_its_constructor():
    """``_PyTorchGradient.__init__`` (``shap/explainers/_gradient.py``) calls the model on the
    whole background outside ``torch.no_grad()`` to count its outputs, so the activations of
    every background image are kept for a backward pass that never comes. Building the
    explainer under ``torch.no_grad()`` avoids that; the gradients are taken later, in
    ``shap_values``, and do not depend on it (chapter 3)."""
    background, x = _data()
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).eval()
    grad_mode = []
    model.register_forward_hook(lambda *_: grad_mode.append(torch.is_grad_enabled()))
    plain = shap.GradientExplainer(model, background)
    assert grad_mode == [True]
    grad_mode.clear()
    with torch.no_grad():
        quiet = shap.GradientExplainer(model, background)
    assert grad_mode == [False]
    np.testing.assert_array_equal(
        quiet.shap_values(x, nsamples=20, rseed=0), plain.shap_values(x, nsamples=20, rseed=0)
    )


def test_gradient_explainer_holds_every_sample_at_once():
    """``_PyTorchGradient.shap_values`` fills ``samples_input`` (torch) and ``samples_delta``
    (NumPy, float64) with all ``nsamples`` samples before the first batch; ``batch_size`` only
    splits the gradient passes. NumPy's allocations therefore grow with ``nsamples``, whatever
    the batch size (chapter 3, Step 6; ``helpers.layers.shap_values_in_chunks``)."""
    import tracemalloc

    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64 * 64, 2)).eval()
    explainer = shap.GradientExplainer(model, torch.randn(3, 64, 64), batch_size=10)
    image = torch.randn(1, 64, 64)
    peaks = {}
    for nsamples in (50, 200):
        tracemalloc.start()
        explainer.shap_values(image, nsamples=nsamples, rseed=0)
        peaks[nsamples] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    one_delta = 64 * 64 * 8  # one float64 sample of samples_delta
    assert peaks[50] >= 50 * one_delta
    assert peaks[200] >= 200 * one_delta and peaks[200] > 3 * peaks[50]
