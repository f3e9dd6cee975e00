import numpy as np
import pytest
import shap
import torch
from tiny_models import FunctionalReLUCNN, ReusedReLUCNN, TinyCNN, trained_weights
from torch import nn

from helpers import explain
from helpers.explain import (
    AdditivityError,
    check_additivity,
    preflight_deep_explainer,
)


def _explain(model, seed=0):
    torch.manual_seed(seed)
    background = torch.rand(16, 1, 8, 8)
    images = torch.rand(5, 1, 8, 8)
    explainer = shap.DeepExplainer(model, background)
    values_nchwk = explainer.shap_values(images, check_additivity=False)
    with torch.no_grad():
        logits = model(images).numpy()
    return explainer, values_nchwk, logits


def test_deep_explainer_is_exact_on_a_supported_cnn():
    model = trained_weights(TinyCNN())
    explainer, values_nchwk, logits = _explain(model)
    assert values_nchwk.shape == (5, 1, 8, 8, 3)
    report = check_additivity(values_nchwk, explainer.expected_value, logits)
    assert report.ok and report.max_rel_error < 1e-5
    assert "holds" in str(report)


def test_functional_relu_is_flagged_and_fails_additivity():
    model = trained_weights(FunctionalReLUCNN())
    preflight = preflight_deep_explainer(model, torch.rand(2, 1, 8, 8))
    assert preflight.functional == ["relu()"] and not preflight.ok
    assert "functional nonlinearities" in str(preflight)
    explainer, values_nchwk, logits = _explain(model)
    report = check_additivity(values_nchwk, explainer.expected_value, logits, raise_error=False)
    assert not report.ok and report.max_rel_error > 1e-2
    with pytest.raises(AdditivityError, match="preflight_deep_explainer"):
        check_additivity(values_nchwk, explainer.expected_value, logits)


def test_preflight_accepts_supported_cnn_and_restores_mode():
    model = trained_weights(TinyCNN()).train()
    report = preflight_deep_explainer(model, torch.rand(2, 1, 8, 8))
    assert report.ok, str(report)
    assert "pre-flight OK" in str(report)
    assert model.training


def test_preflight_reports_reuse_inplace_and_unsupported():
    report = preflight_deep_explainer(ReusedReLUCNN(), torch.rand(2, 1, 8, 8))
    assert report.reused == ["relu (x2)"]
    assert report.inplace == ["relu"]
    assert report.unsupported == ["gelu_like (Hardswish)"]
    assert report.functional == []
    text = str(report)
    assert "used more than once" in text and "inplace=False" in text and "no rule" in text


def test_preflight_on_torchvision_resnet18():
    from helpers.torch_compat import import_torchvision

    resnet = import_torchvision().models.resnet18(weights=None)
    report = preflight_deep_explainer(resnet, torch.rand(1, 3, 32, 32))
    assert "layer1.0.relu (x2)" in report.reused
    assert "relu" in report.inplace


def test_ranked_outputs_with_output_indexes():
    model = trained_weights(TinyCNN())
    torch.manual_seed(0)
    explainer = shap.DeepExplainer(model, torch.rand(16, 1, 8, 8))
    images = torch.rand(4, 1, 8, 8)
    values, indexes = explainer.shap_values(images, ranked_outputs=2, check_additivity=False)
    logits = model(images).detach()
    report = check_additivity(values, explainer.expected_value, logits, output_indexes=indexes)
    assert report.ok
    with pytest.raises(ValueError, match="output_indexes"):
        check_additivity(values, explainer.expected_value, logits)


def test_single_output_and_list_forms():
    values = np.ones((3, 2, 2))  # each image's attributions sum to 4
    report = check_additivity(values, 1.0, np.full(3, 5.0))
    assert report.max_abs_error == 0 and report.scale == 5.0
    per_output = [np.ones((3, 2)), np.zeros((3, 2))]
    report = check_additivity(per_output, [0.0, 1.0], np.array([[2.0, 1.0]] * 3))
    assert report.ok
    bad = check_additivity(per_output, [0.0, 1.0], np.array([[2.0, 2.0]] * 3), raise_error=False)
    assert bad.max_abs_error == pytest.approx(1.0) and bad.max_rel_error == pytest.approx(0.5)
    assert bad.gap == pytest.approx(2.0) and bad.max_gap_error == pytest.approx(0.5)


def test_tolerance_follows_the_gap_not_an_offset_of_the_outputs():
    # Two outputs whose SHAP values sum to (1.0, -0.5) against gaps (1.0, -0.5 + 2e-3): an
    # error of 2e-3 on a largest gap of 1.0. Adding 1000 to every output and base value changes
    # neither the values nor the gaps; a tolerance relative to |f(x)| would then accept it.
    values = np.stack([np.full((2, 4), 0.25), np.full((2, 4), -0.125)], axis=-1)  # (2, 4, 2)
    base = np.array([0.5, 0.2])
    outputs = np.array([[1.5, -0.3 + 2e-3]] * 2)
    plain = check_additivity(values, base, outputs, raise_error=False)
    shifted = check_additivity(values, base + 1000.0, outputs + 1000.0, raise_error=False)
    for report in (plain, shifted):
        assert report.gap == pytest.approx(1.0)
        assert report.max_gap_error == pytest.approx(2e-3, rel=1e-6)
        assert not report.ok
    assert shifted.max_rel_error < 1e-5 < plain.max_rel_error  # the offset-dependent ratio
    assert "of the largest gap" in str(shifted)


def test_layer_map_sums_channels_keeps_totals_and_shows_blocks():
    rng = np.random.default_rng(0)
    values_nchwk = rng.normal(size=(2, 3, 4, 4, 5))
    maps = explain.layer_map(values_nchwk, "NCHWK", 16)
    assert maps.shape == (2, 16, 16, 5)
    np.testing.assert_allclose(maps.sum(axis=(1, 2)), values_nchwk.sum(axis=(1, 2, 3)))
    block = maps[0, :4, :4, 0]
    assert np.all(block == block[0, 0])
    assert np.isclose(block[0, 0] * 16, values_nchwk[0, :, 0, 0, 0].sum())
    keras_maps = explain.layer_map(np.moveaxis(values_nchwk, 1, 3), "NHWCK", 16)
    np.testing.assert_allclose(keras_maps, maps)


def test_layer_map_rejects_bad_layouts_and_sizes():
    with pytest.raises(ValueError, match="5-D values"):
        explain.layer_map(np.zeros((2, 4, 4, 5)), "NCHWK", 16)
    with pytest.raises(ValueError, match="not a multiple"):
        explain.layer_map(np.zeros((1, 3, 5, 5, 1)), "NCHWK", 16)


def test_concentration_of_peaked_and_flat_maps():
    flat = np.ones((10, 10))
    assert np.isclose(explain.concentration(flat, 0.1), 0.1)
    peaked = np.zeros((10, 10))
    peaked[0, :5] = -2.0  # sign does not matter
    assert explain.concentration(peaked, 0.1) == 1.0
    assert np.isnan(explain.concentration(np.zeros((4, 4))))
    with pytest.raises(ValueError, match="fraction"):
        explain.concentration(flat, 0)


def test_true_class_maps_picks_each_images_class_in_any_layout():
    values = np.arange(2 * 1 * 2 * 2 * 3, dtype=float).reshape(2, 1, 2, 2, 3)  # NCHWK
    maps = explain.true_class_maps(values, [2, 0])
    np.testing.assert_array_equal(maps[0], values[0, ..., 2].ravel())
    np.testing.assert_array_equal(maps[1], values[1, ..., 0].ravel())
    as_list = [values[..., k] for k in range(3)]  # older shap: one array per class
    np.testing.assert_array_equal(explain.true_class_maps(as_list, [2, 0]), maps)
    with pytest.raises(ValueError, match="one class per image"):
        explain.true_class_maps(values, [1])
    with pytest.raises(ValueError, match=r"0\.\.2"):
        explain.true_class_maps(values, [1, 3])


def test_preflight_flags_overlapping_max_pools_and_says_what_no_rewrite_fixes():
    from helpers.torch_compat import import_torchvision

    resnet = import_torchvision().models.resnet18(weights=None)
    report = preflight_deep_explainer(resnet, torch.rand(1, 3, 32, 32))
    assert report.overlapping_maxpool == [f"maxpool ({resnet.maxpool})"]
    text = str(report)
    assert "overlapping windows" in text and "deep_ready" in text
    assert "GradientExplainer" in text
    for pool, overlapping in [(nn.MaxPool2d(2), False), (nn.MaxPool2d(3, 3), False),
                              (nn.MaxPool2d((3, 2), (3, 1)), True)]:  # fmt: skip
        model = nn.Sequential(nn.Conv2d(1, 2, 3), pool, nn.Flatten())
        found = preflight_deep_explainer(model, torch.rand(1, 1, 9, 9)).overlapping_maxpool
        assert bool(found) == overlapping, pool


def test_preflight_ignores_a_reused_linear_module():
    """shap stores no state for linear rules (add_interim_values), so reuse is harmless."""
    linear = nn.Linear(4, 4)
    report = preflight_deep_explainer(nn.Sequential(linear, nn.ReLU(), linear), torch.rand(2, 4))
    assert report.ok, str(report)
