import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from helpers import plotting
from helpers.training import History


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_image_grid_titles_and_layouts():
    images = np.random.default_rng(0).integers(0, 255, (12, 8, 8), dtype=np.uint8)
    fig = plotting.image_grid(
        images, labels=np.arange(12) % 3, class_names=["a", "b", "c"], ncols=5
    )
    assert isinstance(fig, Figure) and len(fig.axes) == 15
    assert [ax.get_title() for ax in fig.axes[:4]] == ["a", "b", "c", "a"]
    rgb = np.random.default_rng(0).random((2, 8, 8, 3))
    fig = plotting.image_grid(rgb, labels=["x", "y"])
    assert [ax.get_title() for ax in fig.axes] == ["x", "y"]


def test_image_grid_into_given_axes_and_rejects_nchw():
    fig, axes = plt.subplots(1, 2)
    assert plotting.image_grid(np.zeros((2, 4, 4, 1)), axes=axes) is fig
    with pytest.raises(ValueError, match="nchw_to_nhwc"):
        plotting.image_grid(np.zeros((2, 1, 28, 28)))


def test_shap_image_plot_torch_layout():
    rng = np.random.default_rng(0)
    values_nchwk = rng.normal(size=(2, 1, 8, 8, 3))
    images_nchw = rng.random((2, 1, 8, 8))
    fig = plotting.shap_image_plot(
        values_nchwk, images_nchw, "NCHWK", labels=["a", "b", "c"], true_labels=["a", "c"]
    )
    assert isinstance(fig, Figure)
    titles = {ax.get_title() for ax in fig.axes}
    assert {"a", "b", "c"} <= titles


def test_shap_image_plot_ranked_outputs_and_keras_layout():
    rng = np.random.default_rng(1)
    values_nhwck = rng.normal(size=(2, 8, 8, 3, 2))
    fig = plotting.shap_image_plot(
        values_nhwck,
        rng.random((2, 8, 8, 3)),
        "NHWCK",
        labels=["zero", "one", "two"],
        output_indexes=np.array([[2, 0], [1, 2]]),
    )
    titles = [ax.get_title() for ax in fig.axes]
    assert "two" in titles and "one" in titles


def test_shap_image_plot_rejects_channels_first_pixels_for_keras():
    with pytest.raises(ValueError, match="channels-first"):
        plotting.shap_image_plot(np.zeros((2, 8, 8, 1, 2)), np.zeros((2, 1, 8, 8)), "NHWCK")


def test_plot_history():
    history = History([1.0, 0.5], [0.5, 0.8], [0.9, 0.6], [0.6, 0.7], seconds=1.0)
    fig = plotting.plot_history(history)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.axes[1].lines[1].get_ydata().tolist() == [0.6, 0.7]


def _maps_and_images(n=3, k=4, layout="NHWCK"):
    rng = np.random.default_rng(1)
    if layout == "NHWCK":
        return rng.normal(size=(n, 6, 6, 1, k)), rng.random((n, 6, 6, 1))
    return rng.normal(size=(n, 3, 6, 6, k)), rng.random((n, 3, 6, 6))


def test_shap_grid_reference_row_and_colour_scale():
    values, images = _maps_and_images()
    reference = np.random.default_rng(2).integers(0, 255, (4, 6, 6, 1), dtype=np.uint8)
    fig = plotting.shap_grid(
        values,
        images,
        "NHWCK",
        list("abcd"),
        reference_nhwc=reference,
        row_titles=["r0", "r1", "r2"],
    )
    grid_axes = fig.axes[:-1]  # the last axes is the colour bar
    assert len(grid_axes) == 4 * 5
    assert [ax.get_title() for ax in grid_axes[1:5]] == list("abcd")
    assert [grid_axes[5 * (i + 1)].get_title() for i in range(3)] == ["r0", "r1", "r2"]
    limits = {ax.images[-1].get_clim() for ax in grid_axes[6:10]}
    assert len(limits) == 1  # one symmetric scale for every map
    low, high = limits.pop()
    assert high > 0 and low == -high
    maps_summed = values.sum(axis=3)
    np.testing.assert_allclose(grid_axes[6].images[-1].get_array(), maps_summed[0, ..., 0])


def test_shap_grid_ranked_outputs_and_channels_first():
    values, images = _maps_and_images(n=2, k=2, layout="NCHWK")
    names = ["zero", "one", "two", "three"]
    fig = plotting.shap_grid(values, images, "NCHWK", names, output_indexes=[[3, 1], [0, 2]])
    titles = [ax.get_title() for ax in fig.axes[:-1]]
    assert titles == ["", "three", "one", "", "zero", "two"]


def test_shap_grid_rejects_inconsistent_input():
    values, images = _maps_and_images()
    with pytest.raises(ValueError, match="4 explained outputs but 2 column names"):
        plotting.shap_grid(values, images, "NHWCK", ["a", "b"])
    with pytest.raises(ValueError, match="one image per column"):
        plotting.shap_grid(
            values, images, "NHWCK", list("abcd"), reference_nhwc=np.zeros((3, 6, 6, 1))
        )
    with pytest.raises(ValueError):
        plotting.shap_grid(values, np.moveaxis(images, -1, 1), "NHWCK", list("abcd"))


def test_map_panels_rows_of_ncols_with_one_or_own_scales():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(12, 12, 7))
    image = rng.uniform(size=(12, 12, 3))
    fig = plotting.map_panels(maps, image, [f"m{i}" for i in range(7)], ncols=4)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == [f"m{i}" for i in range(7)]
    assert len(fig.axes) == 2 * 4 + 1  # two rows of four, and one colour bar
    limits = {ax.get_images()[-1].get_clim() for ax in panels}
    assert len(limits) == 1  # one shared scale
    plt.close(fig)
    fig = plotting.map_panels(maps[..., :3] * [1, 10, 100], image * 255, list("abc"),
                              ncols=3, scale_each=True)  # fmt: skip
    own = [ax.get_images()[-1].get_clim()[1] for ax in fig.axes if ax.get_title()]
    np.testing.assert_allclose(own, np.abs(maps[..., :3] * [1, 10, 100]).max(axis=(0, 1)))
    assert fig._suptitle is not None and len(fig.axes) == 3
    plt.close(fig)


def test_map_panels_rejects_titles_that_do_not_match():
    with pytest.raises(ValueError, match="M titles"):
        plotting.map_panels(np.zeros((4, 4, 2)), np.zeros((4, 4, 3)), ["one"])


def test_shap_grid_puts_many_outputs_in_blocks_of_max_columns():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(3, 8, 8, 1, 10))
    pixels = rng.uniform(size=(3, 8, 8, 1))
    reference = rng.uniform(size=(10, 8, 8, 1))
    names = [f"class {k}" for k in range(10)]
    fig = plotting.shap_grid(values, pixels, "NHWCK", names, reference_nhwc=reference,
                             row_titles=["a", "b", "c"])  # fmt: skip
    panels = fig.axes[:-1]  # the last axes is the colour bar
    assert len(panels) == 2 * (1 + 3) * (5 + 1)  # two blocks: reference row, 3 images; 6 columns
    assert [ax.get_title() for ax in panels if ax.get_title().startswith("class")] == names
    assert [ax.get_title() for ax in panels if ax.get_title() in "abc"].count("a") == 2
    assert fig.get_size_inches()[0] == pytest.approx(1.3 * 6)
    fig = plotting.shap_grid(values[..., :4], pixels, "NHWCK", names[:4], max_columns=5)
    assert len(fig.axes) - 1 == 3 * 5  # four outputs: one block


def test_comparison_plot_puts_each_image_at_its_ceiling_and_agreement():
    from helpers import compare

    rng = np.random.default_rng(3)
    pattern = rng.normal(size=(6, 8, 8))
    noisy = [pattern + s * rng.normal(size=pattern.shape) for s in (0.5, 0.5, 1.5, 1.5)]
    result = compare.compare_maps(noisy[:2], noisy[2:])
    fig = plotting.comparison_plot(result, labels=("small", "large"))
    ax = fig.axes[0]
    points = ax.collections[0].get_offsets()
    np.testing.assert_allclose(points[:, 0], np.sqrt(result.reliability_a * result.reliability_b))
    np.testing.assert_allclose(points[:, 1], result.agreement)
    assert ax.lines[1].get_ydata()[1] == pytest.approx(result.corrected)
    assert "small vs large" in ax.get_ylabel()
    low, high = ax.get_xlim()
    assert low <= points[:, 0].min() and high >= 1  # every point and the diagonal's end
    _, given = plt.subplots()
    assert plotting.comparison_plot(result, ax=given) is given.figure
    plt.close("all")
