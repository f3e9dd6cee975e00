"""Coalition games: exact Shapley and Owen values against definitions, closed forms, hand
computations and shap's own explainers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import shap
from scipy import ndimage

from helpers import coalitions


def random_game(n, k=2, seed=0):
    v = np.random.default_rng(seed).normal(size=(2**n, k))
    v[0] = 0.0
    return v


def shapley_by_orders(v, n):
    """The definition: the average marginal contribution over all n! orders of arrival."""
    phi = np.zeros((n, *v.shape[1:]))
    for order in itertools.permutations(range(n)):
        mask = 0
        for player in order:
            phi[player] += v[mask | 1 << player] - v[mask]
            mask |= 1 << player
    return phi / math.factorial(n)


def test_shapley_values_match_the_average_over_all_orders():
    v = random_game(5, k=3)
    np.testing.assert_allclose(coalitions.shapley_values(v), shapley_by_orders(v, 5), atol=1e-12)


def test_shapley_values_of_an_additive_game_are_its_weights():
    w = np.array([0.5, -2.0, 3.0, 0.0])
    v = coalitions.coalition_matrix(4) @ w  # v(S) = sum of the weights in S
    np.testing.assert_allclose(coalitions.shapley_values(v), w, atol=1e-12)
    hierarchy = np.array([[0, 1, 1, 2], [2, 3, 1, 2], [4, 5, 2, 4]])
    np.testing.assert_allclose(coalitions.owen_values(v, hierarchy), w, atol=1e-12)


def test_owen_values_by_hand_for_a_majority_game():
    # three players, a win needs two; the hierarchy puts 0 and 1 together. Orders that keep
    # {0, 1} together: 012, 102, 201, 210; the second to arrive wins: 1, 0, 0, 1.
    v = np.array([1.0 if bin(m).count("1") >= 2 else 0.0 for m in range(8)])
    hierarchy = np.array([[0, 1, 1, 2], [2, 3, 2, 3]])
    np.testing.assert_allclose(coalitions.owen_values(v, hierarchy), [0.5, 0.5, 0.0])
    np.testing.assert_allclose(coalitions.shapley_values(v), [1 / 3] * 3)


def test_shap_partition_explainer_gives_the_owen_values_with_a_full_budget():
    n = 8
    v = random_game(n)
    labels_hw = np.arange(n).reshape(2, 4).repeat(3, axis=0).repeat(3, axis=1)
    hierarchy = coalitions.spatial_linkage(labels_hw)
    masker = shap.maskers.Partition(np.zeros((1, n)), clustering=hierarchy)
    explainer = shap.PartitionExplainer(coalitions.lookup(v), masker)
    values = explainer(np.ones((1, n)), max_evals=2**n, silent=True).values[0]
    owen = coalitions.owen_values(v, hierarchy)
    np.testing.assert_allclose(values, owen, atol=1e-12)
    assert np.abs(owen - coalitions.shapley_values(v)).max() > 0.1  # not the Shapley values


def test_kernel_explainer_on_a_lookup_is_exact_when_it_enumerates():
    n = 6
    v = random_game(n, k=1)[:, 0]
    explainer = shap.KernelExplainer(coalitions.lookup(v), np.zeros((1, n)))
    values = explainer.shap_values(np.ones((1, n)), nsamples=2**n, l1_reg=False, silent=True)
    np.testing.assert_allclose(np.ravel(values), coalitions.shapley_values(v), atol=1e-10)


def test_enumerated_game_of_a_linear_model_has_the_closed_form():
    rng = np.random.default_rng(1)
    image = rng.uniform(0, 255, (6, 8, 3))
    fills = rng.uniform(0, 255, (3, 6, 8, 3))
    labels_hw = np.arange(4).reshape(2, 2).repeat(3, axis=0).repeat(4, axis=1)
    weights = rng.normal(size=(6, 8, 3, 2))

    def predict(images_nhwc):
        return np.einsum("nhwc,hwck->nk", images_nhwc, weights)

    v = coalitions.enumerate_game(predict, image, fills, labels_hw, batch_size=5)
    assert v.shape == (16, 2)
    # Shapley value of region i: its pixels' weights times (image - mean fill)
    delta = np.einsum("hwc,hwck->hwk", image - fills.mean(axis=0), weights)
    expected = np.stack([delta[labels_hw == i].sum(axis=0) for i in range(4)])
    np.testing.assert_allclose(coalitions.shapley_values(v), expected, rtol=1e-4)
    np.testing.assert_allclose(v[-1], predict(image[None].astype(np.float32))[0], rtol=1e-4)


def test_segment_keeps_within_the_budget_and_labels_every_pixel():
    rng = np.random.default_rng(0)
    tiles = rng.uniform(0, 255, (4, 4, 3))  # 16 flat colour tiles of 16 x 16 pixels
    image = tiles.repeat(16, axis=0).repeat(16, axis=1) + rng.normal(0, 3, (64, 64, 3))
    labels_hw = coalitions.segment(image.clip(0, 255).astype(np.uint8), 6)
    n = labels_hw.max() + 1
    assert labels_hw.shape == (64, 64) and n == 6  # SLIC over-segments, merging brings 6
    assert set(np.unique(labels_hw)) == set(range(n))
    for region in range(n):  # only touching regions are merged: each stays in one piece
        assert ndimage.label(labels_hw == region)[1] == 1


@pytest.mark.parametrize("bad", [np.zeros((4, 4)), np.zeros((4, 4, 4))])
def test_segment_refuses_what_is_not_one_rgb_image(bad):
    with pytest.raises(ValueError, match="RGB image"):
        coalitions.segment(bad, 4)


def test_segment_refuses_a_budget_beyond_exact_enumeration():
    with pytest.raises(ValueError, match="16 regions"):
        coalitions.segment(np.zeros((8, 8, 3)), 17)


def test_tables_of_the_wrong_length_and_bad_fills_are_refused():
    with pytest.raises(ValueError, match="2\\*\\*n rows"):
        coalitions.shapley_values(np.zeros(6))
    with pytest.raises(ValueError, match="merges"):
        coalitions.owen_values(np.zeros(8), np.zeros((1, 4)))
    with pytest.raises(ValueError, match="fills"):
        coalitions.composites(np.zeros((2, 2, 3)), np.zeros((2, 2, 3)), np.zeros((2, 2), int),
                              np.ones((1, 1), bool))  # fmt: skip
    with pytest.raises(ValueError, match="players"):
        coalitions.coalition_matrix(17)


def test_region_sums_and_top_k_overlap():
    labels_hw = np.array([[0, 0, 1], [2, 2, 1]])
    np.testing.assert_allclose(
        coalitions.region_sums(np.arange(6.0).reshape(2, 3), labels_hw), [1, 7, 7]
    )
    assert coalitions.top_k_overlap([3, 2, 1, 0], [3, 1, 2, 0], 2) == 0.5
    assert coalitions.top_k_overlap([3, 2, 1, 0], [3, 2, 0, 1], 2) == 1.0


def test_owen_equals_shapley_in_some_non_additive_games():
    # symmetric game, hierarchy splitting the players evenly: all equal by symmetry
    v = np.array([bin(m).count("1") ** 2 for m in range(16)], dtype=float)
    even = np.array([[0, 1, 1, 2], [2, 3, 1, 2], [4, 5, 2, 4]])
    np.testing.assert_allclose(coalitions.owen_values(v, even), coalitions.shapley_values(v))
    # interaction only inside a group ({0, 1} together earn 1), plus player 2 alone
    v = np.array([float(m & 3 == 3) + 2.0 * bool(m & 4) for m in range(8)])
    pair_then_two = np.array([[0, 1, 1, 2], [2, 3, 2, 3]])
    np.testing.assert_allclose(coalitions.owen_values(v, pair_then_two), [0.5, 0.5, 2.0])
    np.testing.assert_allclose(coalitions.shapley_values(v), [0.5, 0.5, 2.0])
    # and the majority game, symmetric too but with an uneven hierarchy, is where they differ
    # (test_owen_values_by_hand_for_a_majority_game)
