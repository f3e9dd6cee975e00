"""Figures used by several chapters. Every function returns its Figure and never calls
``plt.show()``; in a notebook the returned Figure is displayed by the cell."""

from __future__ import annotations

import numpy as np

from .layouts import check_images, shap_to_nhwc_list, to_numpy


def _figure(axes, nrows: int, ncols: int, figsize):
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
        return fig, np.asarray(axes)
    axes = np.asarray(axes).reshape(nrows, ncols)
    return axes.flat[0].figure, axes


def image_grid(
    images_nhwc,
    labels=None,
    class_names=None,
    ncols: int = 10,
    axes=None,
    cmap: str = "gray",
):
    """Show a batch of images in a grid, titled with their class names.

    Parameters
    ----------
    images_nhwc : array-like, shape (N, H, W, C) with C in {1, 3}, or (N, H, W)
        Pixel values, uint8 or floats in [0, 1].
    labels : sequence of int or str, optional
        One per image; ints are looked up in ``class_names``.
    class_names : sequence of str, optional
    ncols : int
        Images per row.
    axes : array of matplotlib Axes, optional
        At least N axes to draw into (a new figure is made when omitted).

    Returns
    -------
    matplotlib.figure.Figure
    """
    images = to_numpy(images_nhwc)
    if images.ndim == 3:
        images = images[..., None]
    check_images(images, "NHWC")
    n = len(images)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, grid = _figure(axes, nrows, ncols, (1.3 * ncols, 1.5 * nrows))
    for i, ax in enumerate(grid.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = images[i]
        ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap=cmap)
        if labels is not None:
            label = labels[i]
            is_index = class_names is not None and not isinstance(label, str)
            ax.set_title(class_names[int(label)] if is_index else str(label), fontsize=9)
    return fig


def shap_image_plot(
    shap_values,
    pixel_values,
    layout: str,
    labels=None,
    output_indexes=None,
    true_labels=None,
    width: float = 20,
):
    """``shap.image_plot`` for framework-native outputs; returns the Figure.

    Parameters
    ----------
    shap_values : ndarray or list
        As the explainer returned them: ``(N, C, H, W, K)`` for PyTorch (``layout="NCHWK"``),
        ``(N, H, W, C, K)`` for Keras (``layout="NHWCK"``), or a list of K per-output arrays.
    pixel_values : array-like
        The explained images in the same framework layout (``NCHW`` or ``NHWC``).
    layout : {"NCHWK", "NHWCK"}
    labels : sequence of str, optional
        Class names. Without ``output_indexes`` they are the K explained outputs (column
        titles); with it, the full list indexed per image.
    output_indexes : array-like of int, shape (N, K), optional
        The indexes returned with ``ranked_outputs``.
    true_labels : sequence of str, optional
        One per image, shown as the row title.
    width : float
        Figure width in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    import shap

    maps_nhwc = shap_to_nhwc_list(shap_values, layout)
    pixels = to_numpy(pixel_values)
    check_images(pixels, layout[:-1])
    pixels_nhwc = np.transpose(pixels, (0, 2, 3, 1)) if layout == "NCHWK" else pixels
    column_labels = None
    if labels is not None:
        names = np.asarray(labels, dtype=object)
        if output_indexes is not None:
            column_labels = names[to_numpy(output_indexes).astype(int)]
        else:
            column_labels = np.tile(names[: len(maps_nhwc)], (len(pixels_nhwc), 1))
    shap.image_plot(
        maps_nhwc,
        pixels_nhwc,
        labels=column_labels,
        true_labels=None if true_labels is None else list(true_labels),
        width=width,
        show=False,
    )
    return plt.gcf()


def _shown(img_hwc):
    """An (H, W, C) image as imshow wants it: (H, W) for one channel, floats in [0, 1]."""
    img = np.asarray(img_hwc, dtype=np.float32)
    if img.max() > 1.0:
        img = img / 255.0
    return img[..., 0] if img.shape[-1] == 1 else np.clip(img, 0.0, 1.0)


def _map_cell(ax, value_hw, img_hwc, limit, title=None):
    from shap.plots.colors import red_transparent_blue

    ax.imshow(np.asarray(img_hwc, dtype=np.float32).mean(axis=-1), cmap="gray", alpha=0.15)
    image = ax.imshow(value_hw, cmap=red_transparent_blue, vmin=-limit, vmax=limit)
    if title is not None:
        ax.set_title(title, fontsize=9)
    return image


def shap_grid(
    shap_values,
    pixel_values,
    layout: str,
    column_names,
    reference_nhwc=None,
    output_indexes=None,
    row_titles=None,
    width: float | None = None,
    max_columns: int = 5,
):
    """SHAP maps in a grid (rows: images, columns: outputs), with an optional reference row.

    Like ``shap.image_plot`` (red raises the output, blue lowers it, one colour scale for the
    whole figure, channels summed), plus a first row of reference images, one above each
    column, e.g. one example of each class. More than ``max_columns`` outputs are drawn in
    blocks of at most that many columns, one block under the other, so that each map stays
    readable at the width of a page (about 80 pixels or more).

    Parameters
    ----------
    shap_values : ndarray or list
        ``(N, C, H, W, K)`` (``layout="NCHWK"``), ``(N, H, W, C, K)`` (``"NHWCK"``) or a list of
        K arrays in the image layout.
    pixel_values : array-like
        The N explained images in the image layout (``NCHW`` or ``NHWC``).
    layout : {"NCHWK", "NHWCK"}
    column_names : sequence of str
        Without ``output_indexes``: one title per column (K names). With it: the names of all
        outputs, looked up per image.
    reference_nhwc : array-like, shape (K, H, W, C), optional
        One reference image per column, drawn in a first row titled with ``column_names``.
    output_indexes : array-like of int, shape (N, K), optional
        The indexes returned with ``ranked_outputs``; each map is titled with its output.
    row_titles : sequence of str, optional
        One per image, shown above the image column.
    width : float, optional
        Figure width in inches (default 1.3 per column).
    max_columns : int
        The most maps side by side.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    maps_nhwk = np.stack([m.sum(axis=-1) for m in shap_to_nhwc_list(shap_values, layout)], -1)
    pixels = to_numpy(pixel_values)
    check_images(pixels, layout[:-1])
    pixels_nhwc = np.transpose(pixels, (0, 2, 3, 1)) if layout == "NCHWK" else pixels
    n, k = len(maps_nhwk), maps_nhwk.shape[-1]
    names = list(column_names)
    if output_indexes is None and len(names) != k:
        raise ValueError(f"{k} explained outputs but {len(names)} column names.")
    if reference_nhwc is not None:
        reference_nhwc = to_numpy(reference_nhwc)
        check_images(reference_nhwc, "NHWC")
        if output_indexes is not None or len(reference_nhwc) != k:
            raise ValueError("reference_nhwc needs one image per column and no output_indexes.")
    top = int(reference_nhwc is not None)
    groups = [range(g, min(g + max_columns, k)) for g in range(0, k, max_columns)]
    cols = len(groups[0])
    width = width or 1.3 * (cols + 1)
    row_height = width / (cols + 1) + (0.45 if row_titles is not None else 0.25)
    block = n + top
    fig, grid = plt.subplots(
        block * len(groups), cols + 1, figsize=(width, row_height * block * len(groups) + 0.9),
        squeeze=False,
    )  # fmt: skip
    for ax in grid.flat:
        ax.axis("off")
    limit = float(np.nanpercentile(np.abs(maps_nhwk), 99.9)) or 1e-12
    for b, group in enumerate(groups):
        rows = grid[b * block : (b + 1) * block]
        for jj, j in enumerate(group[: len(group) * top]):
            rows[0, jj + 1].imshow(_shown(reference_nhwc[j]), cmap="gray")
            rows[0, jj + 1].set_title(names[j], fontsize=9)
        for i in range(n):
            row = rows[i + top]
            row[0].imshow(_shown(pixels_nhwc[i]), cmap="gray")
            if row_titles is not None:
                row[0].set_title(str(row_titles[i]), fontsize=9)
            for jj, j in enumerate(group):
                if output_indexes is not None:
                    title = names[int(to_numpy(output_indexes)[i, j])]
                else:
                    title = names[j] if (i == 0 and not top) else None
                image = _map_cell(row[jj + 1], maps_nhwk[i, ..., j], pixels_nhwc[i], limit, title)
    bar = fig.colorbar(
        image,
        ax=grid.ravel().tolist(),
        orientation="horizontal",
        fraction=0.04 if len(grid) > 3 else 0.08,
        pad=0.03,
        aspect=40,
    )
    bar.set_label("SHAP value (red raises the output, blue lowers it)", fontsize=9)
    return fig


def map_panels(maps_hwm, image_hwc, titles, ncols: int = 4, scale_each: bool = False, axes=None):
    """Several maps of one image, ``ncols`` to a row, each drawn over the faded image.

    Parameters
    ----------
    maps_hwm : array-like, shape (H, W, M)
        ``M`` maps of the same image (channels already summed).
    image_hwc : array-like, shape (H, W, C)
        The image, pixels in [0, 1] or 0..255.
    titles : sequence of str
        One per map.
    ncols : int
        Maps per row (each map gets about 1.8 inches).
    scale_each : bool
        One colour scale per map (each map's own largest value) instead of one for all:
        for maps in different units (logits, probabilities).
    axes : array of matplotlib Axes, optional
        ``rows x ncols`` axes to draw into.

    Returns
    -------
    matplotlib.figure.Figure
    """
    maps = to_numpy(maps_hwm)
    if maps.ndim != 3 or len(titles) != maps.shape[-1]:
        raise ValueError(f"expected maps (H, W, M) and M titles; got {maps.shape}, {len(titles)}.")
    nrows = -(-maps.shape[-1] // ncols)
    fig, grid = _figure(axes, nrows, ncols, (1.8 * ncols, 2.0 * nrows + 0.6))
    for ax in grid.flat:
        ax.axis("off")
    limit = float(np.nanpercentile(np.abs(maps), 99.9)) or 1e-12
    for m, ax in enumerate(grid.flat[: maps.shape[-1]]):
        own = float(np.abs(maps[..., m]).max()) or 1e-12
        image = _map_cell(ax, maps[..., m], _shown(image_hwc), own if scale_each else limit,
                          titles[m])  # fmt: skip
    if not scale_each:
        bar = fig.colorbar(image, ax=grid.ravel().tolist(), orientation="horizontal",
                           fraction=0.05, pad=0.04, aspect=40)  # fmt: skip
        bar.set_label("SHAP value (red raises the output, blue lowers it)", fontsize=9)
    else:
        fig.suptitle("each map on its own scale (red raises, blue lowers)", fontsize=9)
    return fig


def plot_history(history, axes=None):
    """Loss and accuracy per epoch, training vs validation.

    Parameters
    ----------
    history : helpers.training.History
    axes : pair of matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, grid = _figure(axes, 1, 2, (9, 3.2))
    epochs = np.arange(1, len(history.train_loss) + 1)
    for ax, key, title in ((grid[0, 0], "loss", "Loss"), (grid[0, 1], "acc", "Accuracy")):
        ax.plot(epochs, getattr(history, f"train_{key}"), "o-", label="train")
        ax.plot(epochs, getattr(history, f"val_{key}"), "s--", label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.set_xticks(epochs)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def comparison_plot(comparison, ax=None, labels=("A", "B")):
    """What :func:`helpers.compare.compare_maps` corrects for, image by image.

    Each point is one image: across, the highest agreement the two sides' noise allows
    (``sqrt(reliability_a * reliability_b)``, each side's agreement with its own repeat); up,
    the agreement of the two sides (means over the runs). Maps that estimate the same pattern
    scatter around the diagonal, however noisy they are; the dashed line has the slope of the
    corrected agreement (mean agreement over mean ceiling).

    Parameters
    ----------
    comparison : helpers.compare.Comparison
    ax : matplotlib Axes, optional
    labels : pair of str
        Names of the two sides, for the axis labels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, grid = _figure(None if ax is None else [ax], 1, 1, (4, 3.6))
    ax = grid[0, 0]
    ceiling = np.sqrt(
        np.clip(comparison.reliability_a, 0, None) * np.clip(comparison.reliability_b, 0, None)
    )
    ax.plot([0, 1], [0, 1], color="0.5", lw=1, label="same pattern (corrected 1)")
    ax.plot(
        [0, 1],
        [0, comparison.corrected],
        "--",
        color="C1",
        label=f"this run (corrected {comparison.corrected:.2f})",
    )
    ax.scatter(ceiling, comparison.agreement, color="C0", zorder=3, label="one image")
    a, b = labels
    # from a round tenth below the lowest point
    low = np.floor(10 * min(np.nanmin(ceiling), np.nanmin(comparison.agreement)) - 1) / 10
    ax.set(
        xlim=(max(low, 0.0), 1.02),
        ylim=(low, 1.02),
        xlabel="ceiling: sqrt(each side's agreement with itself)",
        ylabel=f"agreement, {a} vs {b}",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
