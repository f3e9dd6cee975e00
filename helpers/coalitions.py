"""Coalition games on image regions: superpixels, composite images, exact Shapley and Owen values.

A photo cut into ``n`` regions (superpixels) defines a game: a coalition ``S`` of regions is the
photo with the regions of ``S`` kept and every other region filled from a *fill* image (black,
blurred, another photo...); its value ``v(S)`` is the model's output on that composite, averaged
over the fill images. With ``n <= 16`` regions every coalition can be evaluated (``2**n`` model
calls), which gives the exact Shapley values (and Owen values for a hierarchy of the regions) to
test the sampling explainers against.

A game is stored as ``v[mask]``: row ``mask`` holds the outputs for the coalition whose bit ``i``
is set when region ``i`` is kept, so ``v`` has shape ``(2**n, K)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

#: Exact enumeration costs ``2**n`` evaluations; beyond 16 regions it is not a lab exercise.
MAX_PLAYERS = 16


def segment(image_hwc, n_segments: int, compactness: float = 10.0) -> np.ndarray:
    """Superpixels of one RGB image: SLIC regions (Achanta et al., 2012), merged down to ``n``.

    SLIC seeds its regions on a regular grid, and for a handful of regions the grid decides
    their number more than the request does. So SLIC is asked for three times as many, and
    adjacent regions are then merged, the pair with the smallest Ward cost first (the size-
    weighted squared difference of their mean colours), until ``n_segments`` remain.

    Parameters
    ----------
    image_hwc : array-like, shape (H, W, 3)
        RGB, float in [0, 1] or uint8.
    n_segments : int
        The number of regions wanted, 1 .. :data:`MAX_PLAYERS` (exact enumeration costs
        ``2**n`` model calls). Fewer come back only if SLIC itself made fewer.
    compactness : float
        SLIC's balance of colour against position (higher: squarer regions).

    Returns
    -------
    labels_hw : ndarray of int, shape (H, W)
        Regions ``0 .. n - 1``, numbered in the order of their first pixel.

    Raises
    ------
    ValueError
        For an image that is not ``(H, W, 3)``, or ``n_segments`` outside 1 .. 16.
    """
    from skimage.segmentation import slic

    image = np.asarray(image_hwc)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"segment needs one RGB image (H, W, 3), got shape {image.shape}.")
    if not 0 < n_segments <= MAX_PLAYERS:
        raise ValueError(
            f"exact enumeration stops at {MAX_PLAYERS} regions (2**n model calls); "
            f"n_segments={n_segments} asks for more."
        )
    labels_hw = slic(image, n_segments=3 * n_segments, compactness=compactness, start_label=0,
                     channel_axis=-1)  # fmt: skip
    colours = image.reshape(-1, 3).astype(np.float64)
    while True:
        labels_hw = _consecutive(labels_hw)
        n = int(labels_hw.max()) + 1
        if n <= n_segments:
            return labels_hw
        counts = np.bincount(labels_hw.ravel(), minlength=n).astype(np.float64)
        means = np.stack(
            [np.bincount(labels_hw.ravel(), colours[:, c], n) / counts for c in range(3)], 1
        )
        a, b = _adjacent_pairs(labels_hw).T
        cost = counts[a] * counts[b] / (counts[a] + counts[b])
        cost = cost * ((means[a] - means[b]) ** 2).sum(axis=1)
        best = int(np.argmin(cost))
        labels_hw = np.where(labels_hw == b[best], a[best], labels_hw)


def _consecutive(labels_hw) -> np.ndarray:
    """Relabel regions 0 .. n - 1 in the order of their first pixel (row by row)."""
    flat = np.asarray(labels_hw).ravel()
    _, first = np.unique(flat, return_index=True)
    order = flat[np.sort(first)]
    lookup = np.zeros(flat.max() + 1, dtype=np.int64)
    lookup[order] = np.arange(len(order))
    return lookup[np.asarray(labels_hw)]


def _adjacent_pairs(labels_hw) -> np.ndarray:
    """Pairs ``(a, b)``, ``a < b``, of regions that touch (4-neighbourhood): ``(P, 2)``."""
    a = np.concatenate([labels_hw[:, :-1].ravel(), labels_hw[:-1, :].ravel()])
    b = np.concatenate([labels_hw[:, 1:].ravel(), labels_hw[1:, :].ravel()])
    touching = a != b
    pairs = np.sort(np.stack([a[touching], b[touching]], axis=1), axis=1)
    return np.unique(pairs, axis=0)


def coalition_matrix(n: int) -> np.ndarray:
    """Every coalition of ``n`` players as a ``(2**n, n)`` boolean matrix; row ``m`` = bits of m."""
    if not 0 < n <= MAX_PLAYERS:
        raise ValueError(f"between 1 and {MAX_PLAYERS} players, got {n}.")
    return (np.arange(2**n)[:, None] >> np.arange(n)) & 1 == 1


def composites(image_hwc, fills_bhwc, labels_hw, coalitions_kn) -> np.ndarray:
    """The images of ``k`` coalitions, each with each of ``B`` fills: ``(k, B, H, W, C)``.

    Region ``i`` of composite ``(j, b)`` comes from ``image_hwc`` when ``coalitions_kn[j, i]``,
    otherwise from ``fills_bhwc[b]``.
    """
    image, fills = np.asarray(image_hwc), np.asarray(fills_bhwc)
    if fills.ndim != 4 or fills.shape[1:] != image.shape:
        raise ValueError(
            f"fills must be (B, H, W, C) like the image {image.shape}, got {fills.shape}."
        )
    kept = np.asarray(coalitions_kn, dtype=bool)[:, labels_hw]  # (k, H, W)
    return np.where(kept[:, None, ..., None], image[None, None], fills[None])


def enumerate_game(
    predict: Callable, image_hwc, fills_bhwc, labels_hw, batch_size: int = 64
) -> np.ndarray:
    """Evaluate every coalition of the regions: ``v`` of shape ``(2**n, K)``.

    Parameters
    ----------
    predict : callable
        ``(M, H, W, C)`` float32 images -> ``(M, K)`` outputs.
    image_hwc : array-like, shape (H, W, C)
    fills_bhwc : array-like, shape (B, H, W, C)
        What a missing region shows; ``v(S)`` is the mean over the ``B`` fills.
    labels_hw : ndarray of int, shape (H, W)
        Regions ``0 .. n - 1`` (see :func:`segment`).
    batch_size : int
        Images per call of ``predict`` (coalitions per call: ``batch_size // B``, at least 1).

    Returns
    -------
    v : ndarray of float64, shape (2**n, K)
    """
    n = int(np.max(labels_hw)) + 1
    coalitions = coalition_matrix(n)
    n_fills = np.asarray(fills_bhwc).shape[0]
    step = max(1, batch_size // n_fills)
    rows = []
    for start in range(0, len(coalitions), step):
        images = composites(image_hwc, fills_bhwc, labels_hw, coalitions[start : start + step])
        outputs = np.asarray(predict(images.reshape(-1, *images.shape[2:]).astype(np.float32)))
        rows.append(outputs.reshape(len(images), n_fills, -1).mean(axis=1))
    return np.concatenate(rows).astype(np.float64)


def _players(v) -> int:
    n = int(round(math.log2(len(v))))
    if 2**n != len(v) or n > MAX_PLAYERS:
        raise ValueError(f"a game table has 2**n rows (n <= {MAX_PLAYERS}), got {len(v)}.")
    return n


def shapley_values(v) -> np.ndarray:
    """Exact Shapley values of a game ``v`` (``(2**n,)`` or ``(2**n, K)``): ``(n,)`` or ``(n, K)``.

    ``phi_i = sum over S without i of |S|! (n - |S| - 1)! / n! * (v(S + i) - v(S))``.
    """
    v = np.asarray(v, dtype=np.float64)
    n = _players(v)
    masks = np.arange(2**n)
    sizes = np.bitwise_count(masks)
    weight = np.array([math.factorial(s) * math.factorial(n - s - 1) for s in range(n)])
    weight = weight / math.factorial(n)
    phi = []
    for i in range(n):
        without = masks[(masks >> i) & 1 == 0]
        w = weight[sizes[without]].reshape(-1, *([1] * (v.ndim - 1)))
        phi.append((w * (v[without | (1 << i)] - v[without])).sum(axis=0))
    return np.stack(phi)


def _orders(node: int, n: int, children: np.ndarray) -> list[list[int]]:
    """Every order of the leaves under ``node`` that keeps each cluster together."""
    if node < n:
        return [[node]]
    left, right = (int(c) for c in children[node - n])
    lefts, rights = _orders(left, n, children), _orders(right, n, children)
    return [a + b for a in lefts for b in rights] + [b + a for a in lefts for b in rights]


def owen_values(v, linkage) -> np.ndarray:
    """Exact Owen values of ``v`` for a binary hierarchy of its players: ``(n,)`` or ``(n, K)``.

    The Owen value (Owen, 1977; nested over a hierarchy: Winter, 1989) is the average marginal
    contribution over the orders of arrival in which every cluster of the hierarchy arrives as
    one block: at each split, which half comes first is a fair coin. There are ``2**(n - 1)`` orders
    for ``n`` players, against ``n!`` for the Shapley value.

    Parameters
    ----------
    v : array-like, shape (2**n,) or (2**n, K)
    linkage : array-like, shape (n - 1, >= 2)
        A SciPy-style linkage: row ``r`` merges clusters ``linkage[r, 0]`` and ``linkage[r, 1]``
        (ids below ``n`` are players) into cluster ``n + r``; the last row is the root.
    """
    v = np.asarray(v, dtype=np.float64)
    n = _players(v)
    children = np.asarray(linkage)[:, :2].astype(int)
    if children.shape != (n - 1, 2):
        raise ValueError(f"a hierarchy of {n} players has {n - 1} merges, got {children.shape}.")
    orders = np.array(_orders(2 * n - 2, n, children))  # (2**(n-1), n)
    bits = 1 << orders
    before = np.cumsum(bits, axis=1) - bits  # the coalition each player joins
    gains = v[before + bits] - v[before]  # (orders, n, ...)
    phi = np.zeros((n, *v.shape[1:]))
    np.add.at(phi, orders.ravel(), gains.reshape(-1, *v.shape[1:]))
    return phi / len(orders)


def lookup(v) -> Callable:
    """A model of the game for shap: ``(M, n)`` rows of 0/1 -> ``v`` of those coalitions."""
    v = np.asarray(v)
    powers = 2 ** np.arange(_players(v))

    def game(z):
        return v[np.rint(np.asarray(z)).astype(np.int64) @ powers]

    return game


def spatial_linkage(labels_hw) -> np.ndarray:
    """A binary hierarchy of the regions (Ward linkage of their centres): ``(n - 1, 4)``."""
    from scipy.cluster.hierarchy import linkage

    labels_hw = np.asarray(labels_hw)
    rows, cols = np.indices(labels_hw.shape)
    counts = np.bincount(labels_hw.ravel())
    centres = np.stack(
        [np.bincount(labels_hw.ravel(), weights=g.ravel()) / counts for g in (rows, cols)], axis=1
    )
    return linkage(centres, method="ward")


def region_sums(map_hw, labels_hw) -> np.ndarray:
    """Sum a pixel map over each region: ``(H, W)`` -> ``(n,)``."""
    labels_hw = np.asarray(labels_hw)
    return np.bincount(
        labels_hw.ravel(), weights=np.asarray(map_hw, dtype=np.float64).ravel(),
        minlength=int(labels_hw.max()) + 1,
    )  # fmt: skip


def top_k_overlap(values_a, values_b, k: int) -> float:
    """Share of the ``k`` largest entries of ``values_a`` that are among the ``k`` largest of b."""
    top_a = set(np.argsort(-np.asarray(values_a), kind="stable")[:k])
    top_b = set(np.argsort(-np.asarray(values_b), kind="stable")[:k])
    return len(top_a & top_b) / k
