"""Compare two attribution methods (or models, or settings) on the same images, soundly.

A map is an estimate: run the same explainer again with another seed and another background
of the same size and it moves. Two methods' maps can therefore disagree because the methods
differ, or only because each is noisy. :func:`compare_maps` takes **several runs of each
method** (A_1, A_2, ... and B_1, B_2, ...; each run its own seed and its own background,
disjoint from every other run's) and separates the two. Per image, over the pixels:

* ``reliability_a`` is how well A agrees with itself: the covariance of two of its runs,
  averaged over its pairs of runs, over its runs' mean variance; likewise for B;
* ``agreement`` is how well A agrees with B: the A-B covariance averaged over every pair of
  runs, over the geometric mean of the two sides' variances (with two runs a side and equal
  noise, about the mean Pearson correlation). Covariances are averaged before scaling so that
  a noisier run weighs the same in the agreement as in the reliability;
* ``corrected`` is the mean agreement over the images divided by the mean of
  ``sqrt(reliability_a * reliability_b)``: Spearman's (1904) correction for attenuation. When
  each run is a fixed pattern plus noise independent between runs, an image's expected
  agreement is the correlation of the two patterns times that square root, so ``corrected``
  estimates a reliability-weighted mean, over **these** images, of the correlation between
  the two methods' expected maps. It is 1 when B is another run of A, or estimates A's
  pattern with less noise. The square root of a noisy reliability biases it upward
  (simulated: 1.003 to 1.013 on average where it should be 1; 1.07 with 90 % of the noise
  shared across images and runs of unequal noise);
* ``interval`` is a jackknife-t interval of ``corrected`` (log scale when it is positive) that
  leaves out one run at a time, with Welch-Satterthwaite degrees of freedom. It needs **three
  runs a side** or more; the runs are the independent units, however much the images of one
  run share, and the interval is about these images (one image is enough).

The verdict is ``"differ"`` when the whole interval lies below 1; ``"the same"`` when a margin
was given and the whole interval lies above ``1 - margin``; otherwise ``"cannot tell"``:
failing to find a difference is not evidence of sameness. With two runs on a side there is no
interval and the verdict is ``"cannot tell"``; so it is too when a method does not agree with
itself (a pair of its runs whose mean agreement over the images is not above 0).

**Independent runs.** No two runs may share a background or a seed: if A and B are explained
with the same background images, their shared noise raises the A-B agreement, pushes
``corrected`` up and hides real differences (the report flags an interval wholly above 1;
a run much noisier than the others can also cause it).

**Why runs, not images.** Every image of one run is explained with the same background draw
(DeepExplainer's and GradientExplainer's usual set-up), so one draw's peculiarities move all
the maps of that run alike, and the images are not independent samples. An interval that left
out one image at a time (two runs a side) said "differ" for 13 to 14 % of simulated data sets
whose two sides estimate the same pattern when half of the noise variance was common to the
images of a run, and "the same" for 9 to 10 % of those whose patterns correlate at exactly
1 - margin even with independent noise (nominal 2.5 % each). A detector of shared noise (the
correlation between images of the difference of two runs) misses noise shared with a sign
that varies by image, as DeepExplainer's multipliers make it, so the tool leaves the images
out of it.

Simulated (10 images, 64 pixels; white noise, equal or unequal on the two sides, each run's
noise scale spread by a factor of about 1.8, 0 to 90 % of it shared across images): over runs
(three a side) the interval said "differ" for 0.0 to 0.8 % of data sets whose two sides
estimate the same pattern, and "the same" (margin 0.05) for 1.0 to 3.0 % of those whose
patterns correlate at exactly 0.95 (nominal 2.5 % each). The price is power: a change to
pattern correlation 0.9 was found in 91 % of data sets with four runs a side, 48 % with three
(60 % and 22 % with half of the noise shared). Rejected by the same simulations: a percentile
bootstrap over images (4 to 5 % "differ"), a permutation test that relabels the runs (10 to 15
% once the two sides' noise differed), K_a + K_b - 2 degrees of freedom (4.2 % "the same"),
averaging Pearson correlations over the runs (up to 4.0 %). Real maps have noise that is
correlated between neighbouring pixels, or dominated by a few background images; the
simulations do not cover that. Nor do they cover images whose reliability is near 0: such an
image's agreement is near 0 while its clipped square root is not, which lowers ``corrected``;
read it with care when the table of reliabilities shows such images.

What the comparison handles (each tested in ``tests/test_compare.py``):

* different grids: every map is block-averaged to the coarsest grid (:func:`pool_to`);
* different scales: Pearson correlation does not change when a map is multiplied by c > 0;
* shared zeros: pixels where every run's map is exactly 0 (blank in the image and in every
  background) are left out per image, so they cannot make unrelated maps look alike. Only
  exact zeros: pixels near 0 in every map, or with ``absolute=True`` a region that every map
  marks, still raise the agreement of unrelated maps;
* offsets: like scale, a constant added to a map does not change its correlation, so "the same"
  means the same pattern, not equal values;
* sign: ``absolute=True`` compares |maps|; signed maps that agree up to a sign per image have
  a ``corrected`` near 0 and a ``corrected_abs`` (the same ratio with |agreement| per image)
  near 1, and both are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t

from .layouts import to_numpy

#: The rate of "differ" when both sides estimate the same pattern that the tests assert, by
#: simulation (measured 0.0 to 0.8 %, see the module's docstring), at the default ``level``
#: of 0.95, whose nominal one-sided rate is 2.5 % ("differ" needs all of the interval below 1).
FALSE_DIFFER_RATE = 0.04
#: The same for "the same" when the patterns correlate at exactly ``1 - margin`` (measured
#: 1.0 to 3.0 %).
FALSE_SAME_RATE = 0.05


def pool_to(maps, shape: tuple[int, int]) -> np.ndarray:
    """Block-average maps to a coarser grid.

    Parameters
    ----------
    maps : array-like, shape (N, H, W)
        One 2-D map per image.
    shape : (h, w)
        The target grid; ``H`` and ``W`` must be multiples of ``h`` and ``w``.

    Returns
    -------
    ndarray, shape (N, h, w)
        Each cell the mean of the ``(H // h) x (W // w)`` block it covers.
    """
    maps = to_numpy(maps).astype(np.float64)
    if maps.ndim != 3:
        raise ValueError(
            f"maps must be (N, H, W), got shape {maps.shape}; sum the channels first "
            "(e.g. explain.layer_map or values.sum(axis=channel_axis))."
        )
    n, height, width = maps.shape
    h, w = shape
    if height % h or width % w:
        raise ValueError(
            f"a {height}x{width} map cannot be block-averaged to {h}x{w}; compare maps whose "
            "sizes divide each other (e.g. 32x32 with 8x8), or resize one first."
        )
    return maps.reshape(n, h, height // h, w, width // w).mean(axis=(2, 4))


def _pairwise(sets: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """(P, N, D) runs of N maps -> (P, P, N): each pair of runs' covariance over the kept
    pixels, per image (nan where fewer than 3 pixels are kept)."""
    n_runs, n = sets.shape[:2]
    out = np.full((n_runs, n_runs, n), np.nan)
    for i in range(n):
        x = sets[:, i, keep[i]]
        if x.shape[1] < 3:
            continue
        x = x - x.mean(axis=1, keepdims=True)
        out[:, :, i] = (x @ x.T) / x.shape[1]
    return out


def _per_image(pairs: np.ndarray, runs_a, runs_b):
    """Agreement and each side's reliability per image, from the covariances of
    :func:`_pairwise`.

    The covariances are averaged over the pairs of runs first and scaled once, by each side's
    mean variance: ``agreement = mean cov(A_k, B_l) / sqrt(var_A var_B)`` and ``reliability_a
    = mean_{k<l} cov(A_k, A_l) / var_A``. Averaging Pearson correlations instead would let a
    noisier run weigh less in the reliability than in the agreement, which biases the
    corrected agreement upward when runs differ in noise.
    """

    def mean_of(index_pairs):
        return np.nanmean([pairs[i, j] for i, j in index_pairs], axis=0)

    within_a = [(i, j) for k, i in enumerate(runs_a) for j in runs_a[k + 1 :]]
    within_b = [(i, j) for k, i in enumerate(runs_b) for j in runs_b[k + 1 :]]
    across = [(i, j) for i in runs_a for j in runs_b]
    var_a = np.nanmean([pairs[i, i] for i in runs_a], axis=0)
    var_b = np.nanmean([pairs[i, i] for i in runs_b], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (
            mean_of(across) / np.sqrt(var_a * var_b),
            mean_of(within_a) / var_a,
            mean_of(within_b) / var_b,
        )


def _corrected(agreement, reliability_a, reliability_b) -> np.ndarray:
    """Corrected agreement over the last axis (images) of (..., N) arrays.

    Mean agreement over mean ``sqrt(reliability_a * reliability_b)``, image by image: each
    image's expected agreement is the patterns' correlation times its own square root, so the
    ratio stays right when the noise varies from image to image (a ratio of the mean
    reliabilities said "differ" in every simulated data set where it did).
    """
    roots = np.sqrt(np.clip(reliability_a, 0, None) * np.clip(reliability_b, 0, None))
    both = np.isfinite(roots) & np.isfinite(agreement)  # the same images above and below
    with np.errstate(invalid="ignore", divide="ignore"):
        ceiling = np.sum(np.where(both, roots, 0), axis=-1) / np.sum(both, axis=-1)
        mean_agreement = np.sum(np.where(both, agreement, 0), axis=-1) / np.sum(both, axis=-1)
        return np.where(ceiling > 0, mean_agreement / ceiling, np.nan)


def _jackknife_interval(pairs: np.ndarray, runs_a, runs_b, level: float):
    """Leave-one-run-out t interval of the corrected agreement, on the log scale.

    The runs are the independent units (each its own background draw and seed), whatever the
    images share: leave out each run of A in turn, then each run of B, and add the two sides'
    jackknife variances; Student's t with Welch-Satterthwaite degrees of freedom, between
    ``min(K_a, K_b) - 1`` and ``K_a + K_b - 2``.
    """
    estimate = float(_corrected(*_per_image(pairs, runs_a, runs_b)))
    leave_one_out = []
    for side in (0, 1):
        own = (runs_a, runs_b)[side]
        values = []
        for left_out in own:
            rest = [r for r in own if r != left_out]
            kept = (rest, runs_b) if side == 0 else (runs_a, rest)
            values.append(float(_corrected(*_per_image(pairs, *kept))))
        leave_one_out.append(np.asarray(values))
    if np.isnan(estimate) or any(np.isnan(v).any() for v in leave_one_out):
        return np.nan, np.nan
    # log scale when everything is positive; else linear (unrelated or sign-flipped maps)
    log_scale = estimate > 0 and all((v > 0).all() for v in leave_one_out)
    scale = np.log if log_scale else (lambda x: x)
    variances = [
        (len(v) - 1) / len(v) * ((scale(v) - scale(v).mean()) ** 2).sum() for v in leave_one_out
    ]
    variance = sum(variances)
    # Welch-Satterthwaite: about K - 1 degrees of freedom when one side's noise dominates
    pieces = sum(v**2 / (len(o) - 1) for v, o in zip(variances, (runs_a, runs_b), strict=True))
    most = len(runs_a) + len(runs_b) - 2
    welch = variance**2 / pieces if pieces > 0 else most
    df = min(max(welch, min(len(runs_a), len(runs_b)) - 1), most)
    q = student_t.ppf(1 - (1 - level) / 2, df)
    centre, spread = scale(estimate), q * np.sqrt(variance)
    low, high = centre - spread, centre + spread
    return (float(np.exp(low)), float(np.exp(high))) if log_scale else (low, high)


@dataclass(frozen=True)
class Comparison:
    """What :func:`compare_maps` found; ``str()`` gives a short report."""

    agreement: np.ndarray
    reliability_a: np.ndarray
    reliability_b: np.ndarray
    corrected: float
    interval: tuple[float, float]
    verdict: str
    margin: float | None
    level: float
    grid: tuple[int, int]
    pixels: np.ndarray
    reliable: bool
    runs: tuple[int, int]

    @property
    def corrected_abs(self) -> float:
        """``corrected`` with each image's |agreement|: near 1 for maps equal up to a sign."""
        return float(_corrected(np.abs(self.agreement), self.reliability_a, self.reliability_b))

    def __str__(self) -> str:
        low, high = self.interval
        margin = "" if self.margin is None else f" (margin {self.margin:g})"
        return (
            f"agreement {np.nanmean(self.agreement):.2f}; each with its own runs: "
            f"{np.nanmean(self.reliability_a):.2f} and {np.nanmean(self.reliability_b):.2f}\n"
            f"corrected agreement {self.corrected:.2f}, {self.level:.0%} interval "
            f"[{low:.2f}, {high:.2f}] over {self.runs[0]} + {self.runs[1]} runs"
            + f"\nverdict{margin}: {self.verdict}; up to a sign per image, "
            f"corrected {self.corrected_abs:.2f}"
            + (
                "\nthe interval lies above 1: runs that share a background or a seed do this,"
                "\nand so does the correction's upward bias when the agreements are noisy"
                if low > 1
                else ""
            )
            + (
                "\nno interval, no verdict: give each side three runs or more"
                if min(self.runs) < 3
                else ""
            )
        )


def compare_maps(
    runs_a,
    runs_b,
    *,
    absolute: bool = False,
    margin: float | None = None,
    level: float = 0.95,
) -> Comparison:
    """Compare two methods' per-image maps, each run several times, against their own noise.

    Parameters
    ----------
    runs_a : sequence of array-like, each of shape (N, H, W)
        Method A run on the same N images (same order) three times or more (two give no
        verdict), each run with its own seed and its own background, disjoint from every
        other run's, B's included. N may be 1.
    runs_b : sequence of array-like, each of shape (N, H2, W2)
        The same for B; the grids may differ if one divides the other.
    absolute : bool
        Compare |maps| (where the evidence is, whatever its sign).
    margin : float, optional
        With a margin, the verdict is ``"the same"`` when the whole interval lies above
        ``1 - margin`` (the patterns may differ, but by less than the margin). Without one it
        never is.
    level : float
        Coverage of the interval (two-sided); "differ" is then a one-sided test at
        ``(1 - level) / 2``.

    Returns
    -------
    Comparison
        Per-image agreement and reliabilities, the corrected agreement, its interval, the
        verdict ("differ", "cannot tell" or "the same"), the common grid, the number of
        pixels compared per image, whether each side agrees with itself, and the number of
        runs a side.

    Notes
    -----
    The interval leaves out one run at a time, so it holds however much noise the images of a
    run share (one background draw for all of them), and it needs three runs a side: with two,
    the agreement and the reliabilities are reported without an interval or a verdict.
    """
    runs = [[to_numpy(m).astype(np.float64) for m in side] for side in (runs_a, runs_b)]
    shapes = [[m.shape for m in side] for side in runs]
    if (
        min(len(side) for side in runs) < 2
        or any(m.ndim != 3 for side in runs for m in side)
        or len({m.shape[0] for side in runs for m in side}) != 1
    ):
        raise ValueError(
            "pass two lists of runs, at least two (three for a verdict) (N, H, W) arrays each, "
            "all for the same N "
            f"images (e.g. compare_maps([a, a_repeat, a_third], [b, b_repeat, b_third])); got "
            f"shapes {shapes}."
        )
    n = runs[0][0].shape[0]
    every = runs[0] + runs[1]
    grid = (min(m.shape[1] for m in every), min(m.shape[2] for m in every))
    sets = np.stack([pool_to(m, grid).reshape(n, -1) for m in every])  # (P, N, D)
    if absolute:
        sets = np.abs(sets)
    keep = np.any(sets != 0, axis=0)  # (N, D): not a zero shared by every run
    pairs = _pairwise(sets, keep)
    index_a = list(range(len(runs[0])))
    index_b = list(range(len(runs[0]), len(every)))
    agreement, reliability_a, reliability_b = _per_image(pairs, index_a, index_b)
    corrected = float(_corrected(agreement, reliability_a, reliability_b))
    # each side agrees with itself: every pair of its runs, on average over the images
    reliable = all(
        np.nanmean(pairs[i, j] / np.sqrt(pairs[i, i] * pairs[j, j])) > 0
        for side in (index_a, index_b)
        for k, i in enumerate(side)
        for j in side[k + 1 :]
    )
    low, high = np.nan, np.nan
    if min(len(index_a), len(index_b)) >= 3:
        low, high = _jackknife_interval(pairs, index_a, index_b, level)
    if not reliable or np.isnan(low):
        # too few runs, or a method that does not clearly agree with itself
        verdict = "cannot tell"
    elif margin is not None and low > 1 - margin:
        verdict = "the same"  # even if the interval lies below 1: less than the margin
    elif high < 1:
        verdict = "differ"
    else:
        verdict = "cannot tell"
    return Comparison(
        agreement=agreement,
        reliability_a=reliability_a,
        reliability_b=reliability_b,
        corrected=corrected,
        interval=(low, high),
        verdict=verdict,
        margin=margin,
        level=level,
        grid=grid,
        pixels=keep.sum(axis=1),
        reliable=reliable,
        runs=(len(index_a), len(index_b)),
    )
