import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from helpers import models, trust


def test_rank_correlation_matches_scipy_per_row():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 3, 4)), rng.normal(size=(5, 3, 4))
    b[0] = a[0] * 2 + 1  # same ranks
    expected = [spearmanr(x.ravel(), y.ravel()).statistic for x, y in zip(a, b, strict=True)]
    np.testing.assert_allclose(trust.rank_correlation(a, b), expected)
    assert trust.rank_correlation(a, -a) == pytest.approx([-1.0] * 5)
    assert trust.rank_correlation(a, b)[0] == pytest.approx(1.0)


def test_rank_correlation_handles_ties_and_constant_maps():
    a = np.array([[0.0, 0.0, 1.0, 2.0], [1.0, 1.0, 1.0, 1.0]])
    b = np.array([[0.0, 0.0, 3.0, 5.0], [1.0, 2.0, 3.0, 4.0]])
    result = trust.rank_correlation(a, b)
    assert result[0] == pytest.approx(1.0) and np.isnan(result[1])
    with pytest.raises(ValueError, match="same shape"):
        trust.rank_correlation(a, b[:, :3])


def test_ssim_identity_scale_invariance_and_noise():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(28, 28))
    assert trust.ssim(x, x) == pytest.approx(1.0)
    assert trust.ssim(x, 3 * x) < 1.0  # scaled jointly: the brighter map differs
    assert trust.ssim(x, rng.normal(size=(28, 28))) < 0.2
    noisy = x + 0.3 * rng.normal(size=(28, 28))
    assert trust.ssim(x, x) > trust.ssim(x, noisy) > trust.ssim(x, rng.normal(size=(28, 28)))
    assert trust.ssim(x, noisy) == pytest.approx(trust.ssim(noisy, x))


def test_ssim_of_constant_maps_is_the_luminance_term():
    a, b = np.full((8, 8), 1.0), np.full((8, 8), 0.5)
    c1 = (0.01 * 2) ** 2
    assert trust.ssim(a, b) == pytest.approx((2 * 1.0 * 0.5 + c1) / (1.0 + 0.25 + c1))
    assert np.isnan(trust.ssim(np.zeros((4, 4)), np.zeros((4, 4))))
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        trust.ssim(np.zeros((2, 4, 4)), np.zeros((2, 4, 4)))


def test_cascading_randomization_is_cumulative_and_leaves_the_model_alone():
    torch.manual_seed(0)
    net = models.MnistCNN().eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    state = torch.random.get_rng_state()
    steps = list(trust.cascading_randomization(net, models.MNIST_CNN_BLOCKS, seed=3))
    assert torch.equal(state, torch.random.get_rng_state())  # global stream untouched
    assert [name for name, _ in steps] == ["classifier", "conv3", "conv2", "conv1"]
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), key
    first = steps[0][1].state_dict()
    assert not torch.equal(first["classifier.weight"], before["classifier.weight"])
    assert torch.equal(first["features.0.weight"], before["features.0.weight"])
    last = steps[-1][1].state_dict()
    for key in ("classifier.weight", "features.8.weight", "features.4.weight", "features.0.weight"):
        assert not torch.equal(last[key], before[key]), key
    assert torch.equal(last["classifier.weight"], first["classifier.weight"])  # cumulative
    again = list(trust.cascading_randomization(net, models.MNIST_CNN_BLOCKS, seed=3))
    assert torch.equal(again[-1][1].state_dict()["features.0.weight"], last["features.0.weight"])


def test_cascading_randomization_names_unknown_modules():
    with pytest.raises(KeyError, match="features.99"):
        next(trust.cascading_randomization(models.MnistCNN(), [("x", ["features.99"])], seed=0))


def _brightness_model(images):
    """Two 'classes': probability of class 1 grows with the mean brightness of the image."""
    score = images.reshape(len(images), -1).mean(axis=1) * 10
    p1 = 1 / (1 + np.exp(-(score - 2)))
    return np.stack([1 - p1, p1], axis=1)


def test_perturbation_curves_reward_a_faithful_ranking():
    rng = np.random.default_rng(0)
    images = np.zeros((3, 1, 6, 6), dtype=np.float32)
    images[:, :, 1:5, 1:5] = 1.0  # a bright square
    faithful = images[:, 0] + 0.01 * rng.random((3, 6, 6))  # ranks the bright pixels first
    reversed_map = -faithful
    zeros = np.zeros_like(images)
    classes = np.ones(3, dtype=int)
    deletion, insertion = trust.perturbation_curves(
        _brightness_model, images, faithful, classes, 6, zeros
    )
    assert deletion.shape == insertion.shape == (3, 7)
    np.testing.assert_allclose(deletion[:, 0], _brightness_model(images)[:, 1])
    np.testing.assert_allclose(deletion[:, -1], _brightness_model(zeros)[:, 1])
    np.testing.assert_allclose(insertion[:, -1], deletion[:, 0])
    bad_deletion, bad_insertion = trust.perturbation_curves(
        _brightness_model, images, reversed_map, classes, 6, zeros
    )
    assert (trust.curve_auc(deletion) < trust.curve_auc(bad_deletion)).all()
    assert (trust.curve_auc(insertion) > trust.curve_auc(bad_insertion)).all()


def test_perturbation_curves_check_shapes():
    images = np.zeros((2, 1, 4, 4))
    with pytest.raises(ValueError, match="maps"):
        trust.perturbation_curves(_brightness_model, images, np.zeros((2, 4, 5)), [0, 1], 4, images)


def test_curve_auc_of_simple_curves():
    curves = np.array([[1.0, 1.0, 1.0], [0.0, 0.5, 1.0], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(trust.curve_auc(curves), [1.0, 0.5, 0.25])


def test_add_decoy_encodes_the_label_or_not():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 50, size=(40, 28, 28), dtype=np.uint8)
    labels = np.arange(40) % 10
    decoyed, mask = trust.add_decoy(images, labels, 10, seed=1, informative=True)
    assert decoyed.dtype == np.uint8 and not np.shares_memory(decoyed, images)
    assert (mask.sum(axis=(1, 2)) == 16).all()
    np.testing.assert_array_equal(decoyed[~mask], images[~mask])  # nothing else changed
    shades = np.array([decoyed[i][mask[i]][0] for i in range(40)])
    assert all(len(set(decoyed[i][mask[i]])) == 1 for i in range(40))
    assert (
        len({(lab, s) for lab, s in zip(labels, shades, strict=True)}) == 10
    )  # one shade per label
    corners = {(bool(m[0, 0]), bool(m[0, -1]), bool(m[-1, 0]), bool(m[-1, -1])) for m in mask}
    assert len(corners) == 4
    _, same_mask = trust.add_decoy(images, labels, 10, seed=1, informative=False)
    np.testing.assert_array_equal(same_mask, mask)  # same seed, same corners
    random_shaded, _ = trust.add_decoy(images, labels, 10, seed=1, informative=False)
    random_shades = np.array([random_shaded[i][mask[i]][0] for i in range(40)])
    assert (random_shades != shades).any()


def test_add_decoy_rejects_float_images():
    with pytest.raises(ValueError, match="uint8"):
        trust.add_decoy(np.zeros((2, 28, 28)), np.zeros(2, dtype=int), 10, seed=0, informative=True)


def test_mass_share():
    maps = np.array([[[1.0, -1.0], [0.0, 2.0]], [[0.0, 0.0], [0.0, 0.0]]])
    mask = np.array([[[True, False], [False, False]]] * 2)
    share = trust.mass_share(maps, mask)
    assert share[0] == pytest.approx(0.25) and np.isnan(share[1])
    with pytest.raises(ValueError, match="differ"):
        trust.mass_share(maps, mask[:, :1])
