"""Compare two attribution methods (or models, or settings) on the same images, soundly.

A map is an estimate: run the same explainer again with another seed and another background
of the same size and it moves. Two methods' maps can therefore disagree because the methods
differ, or only because each is noisy. :func:`compare_maps` takes each method's maps **and a
repeat of each** (A and A', B and B') and separates the two:

* ``reliability_a`` is how well A agrees with its own repeat A' (Pearson correlation over the
  pixels, per image), likewise for B;
* ``agreement`` is how well A agrees with B (the mean over the four pairs A-B, A-B', A'-B,
  A'-B');
* ``corrected`` is the mean agreement divided by the mean of ``sqrt(reliability_a *
  reliability_b)`` over the images, Spearman's (1904) correction for attenuation: when each map
  is a fixed pattern plus noise that is independent between all four runs, the correlation of
  two noisy maps is the correlation of their patterns times the square root of the product of
  their reliabilities. So ``corrected`` estimates how alike the two *patterns* are (in
  expectation: the estimate scatters around it); it is near 1 when B is only another repeat
  of A, or estimates A's pattern with less noise, as long as both reliabilities are clearly
  above 0;
* ``interval`` is a jackknife-t interval of ``corrected`` over images (leave one image out, on
  the log scale, Student's t with N - 1 degrees of freedom).

The verdict is ``"the same"`` when a margin was given and the whole interval lies above
``1 - margin``; otherwise ``"differ"`` when the whole interval lies below 1, and ``"cannot
tell"`` when it does not: failing to find a difference is not evidence of sameness. When either
method's mean agreement with its own repeat is not clearly above 0, there is nothing to correct
by and the verdict is ``"cannot tell"``.

**Independent runs.** The four runs must not share a background or a seed: if A and B are
explained with the same background images, their shared noise raises the A-B agreement,
pushes ``corrected`` up and hides real differences (the report flags an interval wholly above
1, which independent runs make unlikely).

Why this interval: simulated under the null (the same pattern on both sides; 8 to 30 images;
white noise, equal on both sides, one side six times noisier, or varying from image to image),
a percentile bootstrap over images said "differ" 4 to 5 % of the time for a nominal 2.5 %, and
a permutation test that relabels the four maps 10 to 15 % of the time once the two sides' noise
differed (they are then not exchangeable). The jackknife-t interval said "differ" 0.9 to 2.3 %
of the time; :data:`FALSE_DIFFER_RATE` is the bound the tests assert. Real maps have noise that is
correlated between neighbouring pixels; the simulations do not cover that. Nor do they cover
images whose reliability is near or below 0: such an image adds its agreement to the
numerator but nothing to the denominator (its square root is taken of 0), which raises
``corrected``; read it with care when the table of reliabilities shows such images.

**Noise shared across images.** The interval treats the images as independent samples. When
every image is explained with the same background draw (DeepExplainer's usual set-up), one
draw's peculiarities move all the maps alike: simulated with half of the noise variance common
to all images, the interval lay below 1 for 13 to 14 % of data sets whose two sides estimate
the same pattern. ``noise_sharing`` measures it (the mean correlation between images of their
repeat differences, which are pure noise); above :data:`SHARED_NOISE_LIMIT` no verdict is
given. A sound comparison then needs several background draws per side, not more images.

What the comparison handles (each tested in ``tests/test_compare.py``):

* different grids: every map is block-averaged to the coarsest grid (:func:`pool_to`);
* different scales: Pearson correlation does not change when a map is multiplied by c > 0;
* shared zeros: pixels where all four maps are exactly 0 (blank in the image and in every
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
#: simulation (measured 0.9 to 2.3 %, see the module's docstring), at the default ``level``
#: of 0.95, whose nominal one-sided rate is 2.5 % ("differ" needs all of the interval below 1).
FALSE_DIFFER_RATE = 0.04

#: Above this mean correlation between different images' repeat differences, the noise is
#: shared across images (one background draw for all, say) and the interval over images is
#: too narrow: the verdict is then "cannot tell". Simulated (10 images, same pattern on both
#: sides, 300 data sets): with half of the noise variance common to all images the interval
#: lay below 1 in 13 to 14 % of the data sets, with a quarter in 3.7 %, against 2.3 to 3.7 %
#: with independent noise; independent noise on 64 pixels measured at most 0.08 (0.025 on
#: 256 pixels), shared noise about its share.
SHARED_NOISE_LIMIT = 0.1

# The six pairs of the four maps (0 A, 1 A', 2 B, 3 B'): 0 and 5 are the repeats.
_PAIRS = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))


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


def _pearson(a: np.ndarray, b: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Per-row Pearson correlation over the pixels ``keep`` marks; nan where undefined."""
    out = np.full(len(a), np.nan)
    for i in range(len(a)):
        x, y = a[i][keep[i]], b[i][keep[i]]
        if x.size < 3:
            continue
        x, y = x - x.mean(), y - y.mean()
        denominator = np.sqrt((x**2).sum() * (y**2).sum())
        if denominator > 0:
            out[i] = (x * y).sum() / denominator
    return out


def _noise_sharing(maps: np.ndarray, repeat: np.ndarray, keep: np.ndarray) -> float:
    """Mean Pearson correlation, over pairs of images, of their differences ``maps - repeat``.

    The difference of two runs is pure noise. When every image is explained with the same
    background draw, one draw's peculiarities move every image's map alike, so the differences
    of two images correlate; independent noise gives about 0.
    """
    difference = np.where(keep, maps - repeat, np.nan)
    pairs = []
    for i in range(len(difference)):
        for j in range(i + 1, len(difference)):
            both = np.isfinite(difference[i]) & np.isfinite(difference[j])
            if both.sum() >= 3:
                pairs.append(_pearson(difference[i : i + 1], difference[j : j + 1], both[None])[0])
    return float(np.nanmean(pairs)) if pairs else np.nan


def _corrected(agreement, reliability_a, reliability_b) -> np.ndarray:
    """Corrected agreement over the last axis (images) of (..., N) arrays.

    Mean agreement over mean ``sqrt(reliability_a * reliability_b)``, image by image: each
    image's expected agreement is the patterns' correlation times its own square root, so the
    ratio stays right when the noise varies from image to image (a ratio of the mean
    reliabilities said "differ" in every simulated data set where it did).
    """
    ceiling = np.nanmean(
        np.sqrt(np.clip(reliability_a, 0, None) * np.clip(reliability_b, 0, None)), axis=-1
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ceiling > 0, np.nanmean(agreement, axis=-1) / ceiling, np.nan)


def _jackknife_interval(agreement, reliability_a, reliability_b, level: float):
    """Leave-one-image-out t interval of the corrected agreement (log scale when positive)."""
    n = len(agreement)
    keep = ~np.eye(n, dtype=bool)  # row i: every image but i
    rows = np.where(keep)[1].reshape(n, n - 1)
    estimate = float(_corrected(agreement, reliability_a, reliability_b))
    leave_one_out = _corrected(agreement[rows], reliability_a[rows], reliability_b[rows])
    if np.isnan(estimate) or np.isnan(leave_one_out).any():
        return np.nan, np.nan
    log_scale = estimate > 0 and (leave_one_out > 0).all()
    values = np.log(leave_one_out) if log_scale else leave_one_out
    centre = np.log(estimate) if log_scale else estimate
    spread = np.sqrt((n - 1) / n * ((values - values.mean()) ** 2).sum())
    q = student_t.ppf(1 - (1 - level) / 2, n - 1)
    low, high = centre - q * spread, centre + q * spread
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
    noise_sharing: float = 0.0

    @property
    def corrected_abs(self) -> float:
        """``corrected`` with each image's |agreement|: near 1 for maps equal up to a sign."""
        return float(_corrected(np.abs(self.agreement), self.reliability_a, self.reliability_b))

    def __str__(self) -> str:
        low, high = self.interval
        margin = "" if self.margin is None else f", margin {self.margin:g}"
        return (
            f"agreement {np.nanmean(self.agreement):.2f}; each with its own repeat: "
            f"{np.nanmean(self.reliability_a):.2f} and {np.nanmean(self.reliability_b):.2f}\n"
            f"corrected agreement {self.corrected:.2f}, {self.level:.0%} interval "
            f"[{low:.2f}, {high:.2f}] over {len(self.agreement)} images{margin}:\n"
            f"{self.verdict} (up to a sign per image: {self.corrected_abs:.2f})"
            + (
                "\nthe interval lies above 1: do the runs share a background or a seed?"
                if low > 1
                else ""
            )
            + (
                f"\nthe images' noise is shared (their repeat differences correlate at "
                f"{self.noise_sharing:.2f}): one background draw moves every map alike, so "
                "the images are not independent samples and no verdict is given; compare "
                "over several background draws instead"
                if self.noise_sharing > SHARED_NOISE_LIMIT
                else ""
            )
        )


def compare_maps(
    maps_a,
    maps_a_repeat,
    maps_b,
    maps_b_repeat,
    *,
    absolute: bool = False,
    margin: float | None = None,
    level: float = 0.95,
) -> Comparison:
    """Compare two sets of per-image maps, each with a repeat, against their own noise.

    Parameters
    ----------
    maps_a, maps_a_repeat : array-like, shape (N, H, W)
        Method A's maps, and the same method run again (another seed and a disjoint background
        of the same size), one map per image, same images in the same order. No run may share
        a background or a seed with another, B's included.
    maps_b, maps_b_repeat : array-like, shape (N, H2, W2)
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
        pixels compared per image, whether both reliabilities are clearly above 0, and how
        much noise the images share (``"cannot tell"`` above :data:`SHARED_NOISE_LIMIT`).
    """
    sets = [to_numpy(m).astype(np.float64) for m in (maps_a, maps_a_repeat, maps_b, maps_b_repeat)]
    if any(m.ndim != 3 for m in sets) or len({len(m) for m in sets}) != 1:
        raise ValueError(
            "pass four (N, H, W) arrays for the same N images, got shapes "
            f"{[m.shape for m in sets]}."
        )
    n = len(sets[0])
    if n < 3:
        raise ValueError("compare at least 3 images: the interval leaves one image out at a time.")
    grid = (min(m.shape[1] for m in sets), min(m.shape[2] for m in sets))
    sets = [pool_to(m, grid).reshape(n, -1) for m in sets]
    if absolute:
        sets = [np.abs(m) for m in sets]
    keep = np.any([m != 0 for m in sets], axis=0)  # (N, pixels): not a shared zero
    pairs = np.stack([_pearson(sets[i], sets[j], keep) for i, j in _PAIRS])  # (6, N)
    reliability_a, reliability_b = pairs[0], pairs[5]
    agreement = np.nanmean(pairs[1:5], axis=0)
    corrected = float(_corrected(agreement, reliability_a, reliability_b))
    q = student_t.ppf(1 - (1 - level) / 2, n - 1)
    reliable = all(
        np.nanmean(r) - q * np.nanstd(r, ddof=1) / np.sqrt(np.isfinite(r).sum()) > 0
        for r in (reliability_a, reliability_b)
    )
    low, high = _jackknife_interval(agreement, reliability_a, reliability_b, level)
    sharing = max(_noise_sharing(sets[0], sets[1], keep), _noise_sharing(sets[2], sets[3], keep))
    if not reliable or np.isnan(low):
        # a method that does not clearly agree with its own repeat: nothing to correct by
        verdict = "cannot tell"
    elif sharing > SHARED_NOISE_LIMIT:
        # the images are not independent samples: the interval over them is too narrow
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
        noise_sharing=sharing,
    )
