"""helpers.compare: the verdicts, simulated under the null and under a known change.

Simulated maps are a smooth random pattern per image (a Gaussian-filtered field) plus white
noise that is independent between runs, the model the correction for attenuation assumes;
``shared_draw`` adds noise common to every image of a run, as one background draw does.
With noise of the pattern's own variance, a method agrees with another run of itself at
about 0.5.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from helpers import compare, trust


def patterns(rng, n, size=16, smooth=2.0):
    """(n, size, size) smooth fields, each scaled to mean 0 and variance 1."""
    field = ndimage.gaussian_filter(rng.normal(size=(n, size, size)), sigma=(0, smooth, smooth))
    field -= field.mean(axis=(1, 2), keepdims=True)
    return field / field.std(axis=(1, 2), keepdims=True)


def noisy(rng, pattern, noise=1.0):
    """pattern + noise; ``noise`` a number, or one per image (noise that varies by image)."""
    noise = np.reshape(noise, (-1,) + (1,) * (pattern.ndim - 1)) if np.ndim(noise) else noise
    return pattern + noise * rng.normal(size=pattern.shape)


def repeats(rng, pattern_a, pattern_b, noise=(1.0, 1.0), runs=3):
    """``runs`` independent runs of each side: (runs of A, runs of B)."""
    return (
        [noisy(rng, pattern_a, noise[0]) for _ in range(runs)],
        [noisy(rng, pattern_b, noise[1]) for _ in range(runs)],
    )


def shared_draw(rng, pattern, noise, share):
    """pattern + noise of which ``share`` of the variance is one field common to all images."""
    common = rng.normal(size=pattern.shape[1:])
    independent = rng.normal(size=pattern.shape)
    return pattern + noise * (np.sqrt(share) * common[None] + np.sqrt(1 - share) * independent)


def run_sides(rng, pattern_a, pattern_b, runs, noise=(1.0, 1.0), share=0.0):
    """``runs`` runs a side, each with its own draw of noise shared across the images."""
    side_a = [shared_draw(rng, pattern_a, noise[0], share) for _ in range(runs)]
    side_b = [shared_draw(rng, pattern_b, noise[1], share) for _ in range(runs)]
    return side_a, side_b


def differ_rate(make, datasets, seed):
    """Share of simulated data sets whose verdict is "differ"."""
    rng = np.random.default_rng(seed)
    verdicts = [compare.compare_maps(*make(rng)).verdict for _ in range(datasets)]
    return np.mean([v == "differ" for v in verdicts])


ALTERNATING = np.where(np.arange(16) % 2, 0.3, 2.0)  # noise varying by image


@pytest.mark.parametrize(
    ("images", "noise_a", "noise_b"),
    [
        (16, 1.0, 1.0),
        (3, 1.0, 1.0),
        (8, 2.0, 0.3),
        (16, ALTERNATING, 0.5),
        (16, ALTERNATING, ALTERNATING[::-1]),
    ],
    ids=["equal", "3 images", "unequal", "one side varies", "opposite"],
)
def test_null_says_differ_at_no_more_than_the_stated_rate(images, noise_a, noise_b):
    # Both sides estimate the same pattern: equal noise, one side much noisier (a small
    # background against a large one), or noise varying by image; three runs a side, 300
    # data sets each. Measured over 600: 0.2, 0.0, 0.5, 0.0 and 0.0 % (nominal 2.5 %). The bound
    # fails the ratio of the mean reliabilities (100 % once the noise varies by image), a
    # permutation test that relabels the runs (10 to 15 % once the noise differs), a
    # percentile bootstrap over images (4 to 5 %) and the uncorrected agreement (next test).
    def null(rng):
        t = patterns(rng, images)
        return repeats(rng, t, t, (noise_a, noise_b))

    rate = differ_rate(null, 300, seed=images)
    assert rate <= compare.FALSE_DIFFER_RATE, rate


def test_the_uncorrected_agreement_would_call_every_null_a_difference():
    # The mistake the correction prevents: noisy maps agree at about 0.5 with another run
    # of themselves, so "agreement below 1" alone is no evidence of a difference.
    rng = np.random.default_rng(2)
    t = patterns(rng, 16)
    result = compare.compare_maps(*repeats(rng, t, t))
    assert np.nanmean(result.agreement) < 0.7
    assert result.verdict != "differ"
    assert result.interval[0] < 1 < result.interval[1]


def changed(r, runs):
    """Data sets whose B pattern correlates r with A's (per image, exactly); null's noise."""

    def make(rng):
        t, other = patterns(rng, 16), patterns(rng, 16)
        u = other - (other * t).mean(axis=(1, 2), keepdims=True) * t  # orthogonal to t
        u /= u.std(axis=(1, 2), keepdims=True)
        return repeats(rng, t, r * t + np.sqrt(1 - r**2) * u, runs=runs)

    return make


def test_a_change_to_pattern_correlation_0_95_is_detected():
    # Measured over 300 data sets (16 images of 16x16, noise of the pattern's variance on
    # both sides, independent between images): three runs a side 0.97 -> 17 %, 0.95 -> 55 %,
    # 0.9 -> 99 %; four runs 0.97 -> 69 %, 0.95 -> 99 %.
    assert differ_rate(changed(0.95, runs=4), 100, seed=12) >= 0.9
    assert differ_rate(changed(0.9, runs=3), 50, seed=13) >= 0.9


def test_two_runs_a_side_give_numbers_but_no_verdict():
    rng = np.random.default_rng(3)
    t, other = patterns(rng, 16), patterns(rng, 16)
    result = compare.compare_maps(*repeats(rng, t, other, runs=2))
    assert result.runs == (2, 2) and np.isnan(result.interval).all()
    assert result.verdict == "cannot tell" and result.corrected < 0.3
    assert "give each side three runs" in str(result)


def test_the_same_needs_a_margin_and_a_tight_interval():
    rng = np.random.default_rng(4)
    t = patterns(rng, 32)
    sides = run_sides(rng, t, t, 3, noise=(0.3, 0.3))
    assert compare.compare_maps(*sides).verdict == "cannot tell"
    same = compare.compare_maps(*sides, margin=0.1)
    assert same.verdict == "the same", str(same)
    # a pattern correlated 0.97: "differ" without a margin, "the same" within 0.1
    close = 0.97 * t + np.sqrt(1 - 0.97**2) * patterns(rng, 32)
    close_sides = run_sides(rng, t, close, 3, noise=(0.1, 0.1))
    assert compare.compare_maps(*close_sides).verdict == "differ"
    assert compare.compare_maps(*close_sides, margin=0.1).verdict == "the same"
    # a pattern correlated 0.7 is never "the same" within that margin
    mixed = 0.7 * t + np.sqrt(1 - 0.49) * patterns(rng, 32)
    far = compare.compare_maps(*run_sides(rng, t, mixed, 3, noise=(0.3, 0.3)), margin=0.1)
    assert far.verdict == "differ"


@pytest.mark.parametrize(("noise_cv", "share"), [(0.0, 0.0), (0.6, 0.0), (0.6, 0.5)])
def test_the_same_at_the_margin_is_rare(noise_cv, share):
    # Patterns that correlate at exactly 1 - margin (0.95) must rarely be called "the
    # same": one-sided 2.5 % nominal. Runs whose noise differs (noise_cv: the spread of
    # each run's noise scale) and noise shared across images included. Measured over 400
    # data sets each (three runs a side, the two sides' noise 1.0 and 0.3): 2.5, 3.0 and
    # 1.0 %. With K_a + K_b - 2 degrees of freedom instead of Welch-Satterthwaite's it was
    # 4.2 %, averaging the runs' Pearson correlations instead of their covariances gave up
    # to 4.0 %, and an interval over images with two runs a side 9 to 10 %.
    rng = np.random.default_rng(12)
    same = []
    for _ in range(200):
        pattern, other = patterns(rng, 10, size=8), patterns(rng, 10, size=8)
        boundary = 0.95 * pattern + np.sqrt(1 - 0.95**2) * other
        sides = [
            [shared_draw(rng, p, noise * np.exp(noise_cv * rng.normal()), share) for _ in range(3)]
            for p, noise in ((pattern, 1.0), (boundary, 0.3))
        ]
        same.append(compare.compare_maps(*sides, margin=0.05).verdict == "the same")
    assert np.mean(same) <= compare.FALSE_SAME_RATE, np.mean(same)


@pytest.mark.parametrize(
    ("share", "noise"),
    [(0.0, (1.0, 1.0)), (0.5, (1.5, 0.4)), (0.9, (1.0, 1.0))],
    ids=["independent", "half shared, unequal", "mostly shared"],
)
def test_noise_shared_across_the_images_of_a_run_keeps_the_rate(share, noise):
    # The interval leaves out one run at a time: each run is its own background draw, so
    # what the images share does not matter. Measured over 400 data sets for each of six
    # settings (shares 0, 0.5 and 0.9, equal or unequal noise; 10 images, 64 pixels, the
    # same pattern on both sides): 0.0 to 0.8 % "differ" (nominal 2.5 %). An interval that
    # left out one image at a time said "differ" for 13 % with half of the noise shared.
    rng = np.random.default_rng(8)
    differ = []
    for _ in range(200):
        pattern = patterns(rng, 10, size=8)
        result = compare.compare_maps(*run_sides(rng, pattern, pattern, 3, noise, share))
        differ.append(result.verdict == "differ")
    assert np.mean(differ) <= compare.FALSE_DIFFER_RATE


@pytest.mark.parametrize(("share", "power"), [(0.0, 0.8), (0.5, 0.45)])
def test_four_runs_a_side_detect_pattern_correlation_0_9_with_shared_noise(share, power):
    # Measured over 300 data sets: 91 % (independent noise) and 60 % (half shared); with
    # three runs a side 48 % and 22 %.
    rng = np.random.default_rng(9)
    found = []
    for _ in range(100):
        pattern, other = patterns(rng, 10, size=8), patterns(rng, 10, size=8)
        changed_pattern = 0.9 * pattern + np.sqrt(1 - 0.9**2) * other
        sides = run_sides(rng, pattern, changed_pattern, 4, (1.0, 0.5), share)
        found.append(compare.compare_maps(*sides).verdict == "differ")
    assert np.mean(found) >= power, np.mean(found)


def test_one_image_is_enough():
    # the runs are the unit: one photo explained three times a side can be compared
    rng = np.random.default_rng(14)
    t = patterns(rng, 1, size=32, smooth=3.0)
    other = patterns(rng, 1, size=32, smooth=3.0)
    assert compare.compare_maps(*repeats(rng, t, other, (0.3, 0.3))).verdict == "differ"
    same = compare.compare_maps(*repeats(rng, t, t, (0.3, 0.3)))
    assert same.verdict == "cannot tell" and same.interval[0] < 1 < same.interval[1]


def test_scale_does_not_matter():
    rng = np.random.default_rng(5)
    t = patterns(rng, 16)
    side_a, side_b = repeats(rng, t, t)
    plain = compare.compare_maps(side_a, side_b)
    scaled = compare.compare_maps(side_a, [10 * m for m in side_b])
    assert scaled.corrected == pytest.approx(plain.corrected)
    assert scaled.verdict == plain.verdict != "differ"


def test_different_grids_are_pooled_to_the_coarser_one():
    rng = np.random.default_rng(6)
    t = patterns(rng, 16, size=32, smooth=4.0)
    coarse = compare.pool_to(t, (8, 8))  # the same pattern, seen at 8x8
    side_a = [noisy(rng, t) for _ in range(3)]
    side_b = [noisy(rng, coarse, 0.3) for _ in range(3)]
    result = compare.compare_maps(side_a, side_b)
    assert result.grid == (8, 8)
    assert result.verdict != "differ" and result.corrected > 0.9, str(result)
    with pytest.raises(ValueError, match="cannot be block-averaged"):
        compare.compare_maps(side_a, [m[:, :7, :7] for m in side_b])


def test_pool_to_averages_blocks():
    maps = np.arange(16.0).reshape(1, 4, 4)
    np.testing.assert_array_equal(compare.pool_to(maps, (2, 2))[0], [[2.5, 4.5], [10.5, 12.5]])


def test_shared_zeros_do_not_make_unrelated_maps_alike():
    # Unrelated |maps| inside a 16x16 square, exactly 0 on a blank border shared by every
    # run (pixels without ink, black in every background). Over all pixels the rank
    # correlation is high; left out, the comparison sees unrelated maps.
    rng = np.random.default_rng(7)

    def framed(pattern):
        out = np.zeros((len(pattern), 28, 28))
        out[:, 6:22, 6:22] = pattern
        return out

    t, other = patterns(rng, 16), patterns(rng, 16)
    side_a, side_b = ([framed(m) for m in side] for side in repeats(rng, t, other, (0.3, 0.3)))
    naive = np.nanmean(trust.rank_correlation(np.abs(side_a[0]), np.abs(side_b[0])))
    assert naive > 0.5, naive
    result = compare.compare_maps(side_a, side_b, absolute=True)
    assert (result.pixels == 16 * 16).all()
    assert abs(result.corrected) < 0.3 and result.verdict == "differ", str(result)


def test_shared_runs_are_flagged():
    # A and B explained with the same noise (a shared background): agreement above reliability
    rng = np.random.default_rng(11)
    t = patterns(rng, 16)
    side_a = [noisy(rng, t) for _ in range(3)]
    side_b = [m + 0.1 * rng.normal(size=m.shape) for m in side_a]
    result = compare.compare_maps(side_a, side_b)
    assert result.interval[0] > 1 and "share a background" in str(result)


def test_a_difference_where_only_one_method_is_zero_is_seen():
    # Gradient x input is exactly 0 where the image is blank (x = b = 0); another method may
    # put its evidence there. Those pixels must be compared (left out only where every run's
    # map is 0), or this difference would be invisible.
    rng = np.random.default_rng(10)
    t = patterns(rng, 16, size=28)
    border = np.ones((28, 28), bool)
    border[6:22, 6:22] = False
    side_a = [np.where(border, 0.0, noisy(rng, t, 0.3)) for _ in range(3)]
    side_b = [noisy(rng, t, 0.3) for _ in range(3)]  # evidence on the border too
    result = compare.compare_maps(side_a, side_b)
    assert (result.pixels == 28 * 28).all()
    assert result.verdict == "differ", str(result)
    inside = compare.compare_maps(side_a, [np.where(border, 0.0, m) for m in side_b])
    assert inside.verdict != "differ" and (inside.pixels == 16 * 16).all()


def test_sign_flips_per_image_show_in_corrected_abs():
    rng = np.random.default_rng(8)
    t = patterns(rng, 16)
    signs = np.where(np.arange(16) % 2, 1.0, -1.0)[:, None, None]
    result = compare.compare_maps(*repeats(rng, t, signs * t, (0.5, 0.5)))
    assert abs(result.corrected) < 0.2
    assert result.corrected_abs > 0.9
    assert result.verdict == "differ"  # as signed maps they do differ
    assert "up to a sign" in str(result)


def test_unrelated_or_sign_flipped_maps_differ():
    # a corrected agreement at or below 0 has no log: the interval is then taken linearly
    rng = np.random.default_rng(13)
    pattern = patterns(rng, 10, size=8)
    flipped = compare.compare_maps(*run_sides(rng, pattern, -pattern, 3, (0.5, 0.5)))
    assert flipped.corrected < 0 and flipped.verdict == "differ", str(flipped)
    assert flipped.corrected_abs > 0.9
    unrelated = compare.compare_maps(
        *run_sides(rng, pattern, patterns(rng, 10, size=8), 3, (0.5, 0.5))
    )
    assert unrelated.verdict == "differ", str(unrelated)


def test_a_method_that_does_not_agree_with_itself_cannot_be_compared():
    rng = np.random.default_rng(9)
    t = patterns(rng, 16)
    side_a = [noisy(rng, t) for _ in range(3)]
    side_b = list(rng.normal(size=(3, 16, 16, 16)))  # pure noise: reliability about 0
    result = compare.compare_maps(side_a, side_b)
    assert not result.reliable and result.verdict == "cannot tell"
    assert compare.compare_maps(side_a, side_a[::-1]).reliable


def test_the_report_says_over_what_and_fits_the_page():
    rng = np.random.default_rng(10)
    pattern = patterns(rng, 6, size=8)
    three = compare.compare_maps(*run_sides(rng, pattern, pattern, 3, share=0.5), margin=0.05)
    assert three.runs == (3, 3) and "over 3 + 3 runs" in str(three)
    assert "margin 0.05" in str(three)
    two = compare.compare_maps(*run_sides(rng, pattern, pattern, 2))
    # the chapters print it: every line fits the book's code column
    assert max(len(line) for line in f"{two}\n{three}".splitlines()) <= 79


def test_bad_input_names_the_fix():
    maps = np.zeros((4, 8, 8))
    with pytest.raises(ValueError, match="same N images"):
        compare.compare_maps([maps, maps], [maps, maps[:3]])
    with pytest.raises(ValueError, match=r"compare_maps\(\[a, a_repeat"):
        compare.compare_maps([maps], [maps, maps])  # one run: no repeat
    with pytest.raises(ValueError, match="same N images"):
        compare.compare_maps(maps, maps)  # arrays, not lists of runs: (8, 8) each
    with pytest.raises(ValueError, match="sum the channels"):
        compare.pool_to(np.zeros((4, 1, 8, 8)), (4, 4))
