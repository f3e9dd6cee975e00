import numpy as np
import pytest
import torch

from helpers import layouts


def test_round_trip_numpy_and_torch():
    x_nchw = np.random.default_rng(0).random((2, 3, 5, 7))
    x_nhwc = layouts.nchw_to_nhwc(x_nchw)
    assert x_nhwc.shape == (2, 5, 7, 3)
    assert np.array_equal(layouts.nhwc_to_nchw(x_nhwc), x_nchw)
    t = torch.from_numpy(x_nchw)
    assert tuple(layouts.nchw_to_nhwc(t).shape) == (2, 5, 7, 3)
    assert torch.equal(layouts.nhwc_to_nchw(layouts.nchw_to_nhwc(t)), t)


def test_wrong_layout_names_the_fix():
    with pytest.raises(ValueError, match="looks channels-first: use helpers.layouts.nchw_to_nhwc"):
        layouts.check_images(np.zeros((4, 1, 28, 28)), "NHWC")
    with pytest.raises(ValueError, match="looks channels-last: use helpers.layouts.nhwc_to_nchw"):
        layouts.nchw_to_nhwc(np.zeros((4, 28, 28, 1)))
    with pytest.raises(ValueError, match=r"NCHW layout \(N, C, H, W\)"):
        layouts.check_images(np.zeros((28, 28)), "NCHW")
    with pytest.raises(ValueError, match="layout must be"):
        layouts.check_images(np.zeros((1, 2, 3)), "HWC")


def test_wrong_dtype():
    layouts.check_images(np.zeros((1, 2, 2), np.uint8), "NHW", dtype=np.uint8)
    layouts.check_images(torch.zeros(1, 1, 2, 2), "NCHW", dtype=np.float32)
    with pytest.raises(ValueError, match="expected uint8 images, got float64"):
        layouts.check_images(np.zeros((1, 2, 2)), "NHW", dtype=np.uint8)


def test_shap_outputs_to_nhwc_list():
    values_nchwk = np.random.default_rng(1).random((4, 1, 6, 6, 3))
    maps = layouts.shap_to_nhwc_list(values_nchwk, "NCHWK")
    assert len(maps) == 3 and maps[0].shape == (4, 6, 6, 1)
    assert np.array_equal(maps[2][..., 0], values_nchwk[:, 0, :, :, 2])
    values_nhwck = np.moveaxis(values_nchwk, 1, 3)
    assert all(
        np.array_equal(a, b)
        for a, b in zip(layouts.shap_to_nhwc_list(values_nhwck, "NHWCK"), maps, strict=True)
    )
    old_style = [values_nchwk[..., k] for k in range(3)]
    assert np.array_equal(layouts.shap_to_nhwc_list(old_style, "NCHWK")[1], maps[1])


def test_shap_outputs_bad_input():
    with pytest.raises(ValueError, match="NCHWK"):
        layouts.shap_to_nhwc_list(np.zeros((4, 1, 6, 6, 3)), "NCHW")
    with pytest.raises(ValueError, match=r"values\[\.\.\., None\]"):
        layouts.shap_to_nhwc_list(np.zeros((4, 1, 6, 6)), "NCHWK")
    with pytest.raises(ValueError, match="channels-last"):
        layouts.shap_to_nhwc_list(np.zeros((4, 6, 6, 1, 3)), "NCHWK")


def test_to_numpy_variants():
    assert layouts.to_numpy(torch.ones(2, requires_grad=True)).tolist() == [1.0, 1.0]
    assert layouts.to_numpy([np.zeros(2), np.ones(2)]).shape == (2, 2)
    assert layouts.to_numpy(3.0).shape == ()

    class FakeTF:
        def numpy(self):
            return np.array([1.5])

    assert layouts.to_numpy(FakeTF()).tolist() == [1.5]
