"""Tests of an attribution map itself: similarity, randomisation, faithfulness, ground truth.

Used by chapter 5 ("Can we trust the maps?"):

* :func:`rank_correlation` and :func:`ssim` compare two maps (Adebayo et al., 2018);
* :func:`cascading_randomization` re-initialises a model's layers from the top, one block at a
  time, for the model-randomisation sanity check;
* :func:`perturbation_curves` and :func:`curve_auc` give deletion and insertion curves
  (Petsiuk et al., 2018);
* :func:`add_decoy` and :func:`mass_share` build a dataset whose shortcut is known (Ross et
  al., 2017) and measure how much attribution lands on it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from scipy import ndimage
from scipy.stats import rankdata

from .layouts import to_numpy


def _rows(x) -> np.ndarray:
    x = to_numpy(x)
    return x.reshape(len(x), -1).astype(np.float64)


def rank_correlation(maps_a, maps_b) -> np.ndarray:
    """Spearman rank correlation of each pair of maps.

    Parameters
    ----------
    maps_a, maps_b : array-like, shape (N, ...)
        Two sets of maps of the same shape; each row (image) is flattened.

    Returns
    -------
    ndarray, shape (N,)
        One correlation per image, in [-1, 1]; ``nan`` where a map is constant.
    """
    a, b = _rows(maps_a), _rows(maps_b)
    if a.shape != b.shape:
        raise ValueError(f"maps must have the same shape, got {a.shape} and {b.shape}.")
    ra = np.apply_along_axis(rankdata, 1, a)
    rb = np.apply_along_axis(rankdata, 1, b)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    denominator = np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ra * rb).sum(axis=1) / denominator


def ssim(map_a_hw, map_b_hw, sigma: float = 1.5) -> float:
    """Structural similarity (Wang et al., 2004) of two 2-D maps, Gaussian window.

    Both maps are first scaled by the largest absolute value of either, so the index compares
    patterns rather than units (attributions of two models can differ in scale).

    Parameters
    ----------
    map_a_hw, map_b_hw : array-like, shape (H, W)
    sigma : float, default 1.5
        Standard deviation of the Gaussian window, in pixels.

    Returns
    -------
    float
        1.0 for identical maps; near 0 for unrelated ones; ``nan`` if both maps are all zero.
    """
    a = to_numpy(map_a_hw).astype(np.float64)
    b = to_numpy(map_b_hw).astype(np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"ssim compares two (H, W) maps, got {a.shape} and {b.shape}.")
    scale = max(np.abs(a).max(), np.abs(b).max())
    if scale == 0:
        return float("nan")
    a, b = a / scale, b / scale
    c1, c2 = (0.01 * 2) ** 2, (0.03 * 2) ** 2  # data range of a map in [-1, 1] is 2

    def blur(x):
        return ndimage.gaussian_filter(x, sigma, mode="reflect")

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return float(index.mean())


def cascading_randomization(
    model, blocks: Sequence[tuple[str, Sequence[str]]], seed: int
) -> Iterator[tuple[str, object]]:
    """Re-initialise a model's blocks from the top, cumulatively (Adebayo et al., 2018).

    Parameters
    ----------
    model : torch.nn.Module
        The trained model; it is not modified.
    blocks : sequence of (name, module names)
        From the output towards the input, e.g. ``[("classifier", ["classifier"]),
        ("conv3", ["features.8"]), ...]``. Every module with ``reset_parameters`` in a block is
        re-initialised (weights *and* biases; batch-norm statistics are reset too).
    seed : int
        Seed of the re-initialisation.

    Yields
    ------
    name : str
        The block just randomised (all blocks before it are random as well).
    randomized : torch.nn.Module
        A deep copy in eval mode.
    """
    import torch

    modules = dict(model.named_modules())
    missing = [n for _, names in blocks for n in names if n not in modules]
    if missing:
        raise KeyError(f"no module named {missing} in the model; names: {sorted(modules)[:12]}...")
    randomized = copy.deepcopy(model).eval()
    copies = dict(randomized.named_modules())
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        for name, names in blocks:
            for module_name in names:
                for sub in copies[module_name].modules():
                    if hasattr(sub, "reset_parameters"):
                        sub.reset_parameters()
                    if hasattr(sub, "reset_running_stats"):
                        sub.reset_running_stats()
            yield name, copy.deepcopy(randomized).eval()
    finally:
        torch.random.set_rng_state(generator_state)


def perturbation_curves(
    predict: Callable,
    images_nchw,
    maps_nhw,
    classes,
    steps: int,
    substrate_nchw,
) -> tuple[np.ndarray, np.ndarray]:
    """Deletion and insertion curves (Petsiuk et al., 2018).

    Pixels are ranked by their attribution, highest first. *Deletion* replaces them, a
    ``1/steps`` share at a time, by the substrate; *insertion* starts from the substrate and puts
    them back. A faithful map makes the class probability fall fast under deletion and rise
    fast under insertion.

    Parameters
    ----------
    predict : callable
        ``(M, C, H, W)`` float32 array -> ``(M, K)`` class probabilities.
    images_nchw : array-like, shape (N, C, H, W)
    maps_nhw : array-like, shape (N, H, W)
        One attribution map per image (channels already summed).
    classes : array-like of int, shape (N,)
        The class whose probability is followed.
    steps : int
        Number of equal shares of pixels; curves have ``steps + 1`` points.
    substrate_nchw : array-like, shape (N, C, H, W)
        What "deleted" means: e.g. zeros (black) or a blurred copy of each image.

    Returns
    -------
    deletion, insertion : ndarray, shape (N, steps + 1)
        The probability of ``classes`` after each step (first column: nothing changed yet).
    """
    images = to_numpy(images_nchw).astype(np.float32)
    substrate = to_numpy(substrate_nchw).astype(np.float32)
    maps = to_numpy(maps_nhw)
    classes = np.asarray(classes)
    n, c, h, w = images.shape
    if maps.shape != (n, h, w) or substrate.shape != images.shape or classes.shape != (n,):
        raise ValueError(
            f"expected images (N, C, H, W), maps (N, H, W), substrate like images and N classes; "
            f"got {images.shape}, {maps.shape}, {substrate.shape}, {classes.shape}."
        )
    counts = np.linspace(0, h * w, steps + 1).round().astype(int)
    deletion, insertion = np.zeros((n, steps + 1)), np.zeros((n, steps + 1))
    for i in range(n):
        order = np.argsort(-maps[i].ravel(), kind="stable")
        changed = np.zeros((steps + 1, h * w), dtype=bool)
        for s, count in enumerate(counts):
            changed[s, order[:count]] = True
        changed = changed.reshape(steps + 1, 1, h, w)
        deleted = np.where(changed, substrate[i], images[i])
        inserted = np.where(changed, images[i], substrate[i])
        probabilities = predict(np.concatenate([deleted, inserted]))
        deletion[i] = probabilities[: steps + 1, classes[i]]
        insertion[i] = probabilities[steps + 1 :, classes[i]]
    return deletion, insertion


def curve_auc(curves) -> np.ndarray:
    """Area under each curve, with the x axis (share of pixels) running from 0 to 1.

    Parameters
    ----------
    curves : array-like, shape (N, S)

    Returns
    -------
    ndarray, shape (N,)
    """
    curves = np.asarray(curves, dtype=np.float64)
    return np.trapezoid(curves, dx=1 / (curves.shape[1] - 1), axis=1)


def add_decoy(
    images_nhw: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    seed: int,
    informative: bool,
    size: int = 4,
) -> tuple[np.ndarray, np.ndarray]:
    """Stamp a grey square in a random corner of each image (Ross et al., 2017).

    Parameters
    ----------
    images_nhw : ndarray, uint8, shape (N, H, W)
    labels : ndarray of int, shape (N,)
    n_classes : int
    seed : int
        Chooses the corners (and, when not informative, the shades).
    informative : bool
        True: the shade encodes the label (``255 - label * 200 // (n_classes - 1)``), a shortcut
        a model can learn. False: the shade is random, so the square says nothing.
    size : int, default 4
        Side of the square, in pixels.

    Returns
    -------
    decoyed_nhw : ndarray, uint8, shape (N, H, W)
        A copy; the input is not modified.
    mask_nhw : ndarray of bool, shape (N, H, W)
        Where each square is.
    """
    images = np.asarray(images_nhw)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"add_decoy needs uint8 images (N, H, W), got {images.dtype} {images.shape}."
        )
    n, h, w = images.shape
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 4, n)
    shade_of = 255 - np.arange(n_classes) * 200 // max(n_classes - 1, 1)
    shades = shade_of[np.asarray(labels)] if informative else rng.choice(shade_of, n)
    decoyed, mask = images.copy(), np.zeros(images.shape, dtype=bool)
    for i, corner in enumerate(corners):
        rows = slice(0, size) if corner < 2 else slice(h - size, h)
        cols = slice(0, size) if corner % 2 == 0 else slice(w - size, w)
        decoyed[i, rows, cols] = shades[i]
        mask[i, rows, cols] = True
    return decoyed, mask


def mass_share(maps, mask) -> np.ndarray:
    """Share of each map's total |attribution| that lies inside ``mask``.

    Parameters
    ----------
    maps : array-like, shape (N, ...)
    mask : array-like of bool, same shape

    Returns
    -------
    ndarray, shape (N,)
        In [0, 1]; a map spread evenly gives the mask's share of the pixels.
    """
    magnitude, inside = np.abs(_rows(maps)), _rows(mask).astype(bool)
    if magnitude.shape != inside.shape:
        raise ValueError(f"maps {magnitude.shape} and mask {inside.shape} differ in shape.")
    total = magnitude.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (magnitude * inside).sum(axis=1) / total
