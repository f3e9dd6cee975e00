"""Image and SHAP-output layouts, converted explicitly and checked loudly.

PyTorch works channels-first (``NCHW``), Keras and ``shap.image_plot`` channels-last (``NHWC``).
A channels-first array handed to ``shap.image_plot`` draws garbage without any error, so every
plotting helper of the course goes through :func:`check_images` first.
"""

from __future__ import annotations

import numpy as np

LAYOUTS = ("NHW", "NCHW", "NHWC")
_MAX_CHANNELS = 4


def to_numpy(x) -> np.ndarray:
    """A NumPy copy of a NumPy array, PyTorch tensor, TensorFlow tensor, list or scalar."""
    if hasattr(x, "detach"):  # torch.Tensor
        return x.detach().cpu().numpy()
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):  # tf.Tensor
        return np.asarray(x.numpy())
    if isinstance(x, list | tuple):
        return np.stack([to_numpy(v) for v in x])
    return np.asarray(x)


def _guess(shape: tuple[int, ...]) -> str:
    if len(shape) == 3:
        return "NHW"
    if len(shape) == 4 and shape[1] <= _MAX_CHANNELS < shape[-1]:
        return "NCHW"
    if len(shape) == 4 and shape[-1] <= _MAX_CHANNELS < shape[1]:
        return "NHWC"
    return "unknown"


def check_images(x, layout: str, dtype=None) -> None:
    """Raise ``ValueError`` unless ``x`` is a batch of images in ``layout`` (and of ``dtype``).

    Parameters
    ----------
    x : array-like, shape (N, H, W), (N, C, H, W) or (N, H, W, C)
        The images (NumPy array or tensor).
    layout : {"NHW", "NCHW", "NHWC"}
        The expected layout; the channel axis must hold 1 to 4 channels.
    dtype : numpy dtype, optional
        The expected element type, e.g. ``np.uint8``.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}.")
    shape = tuple(x.shape)
    ok = len(shape) == len(layout)
    if ok and layout == "NCHW":
        ok = 1 <= shape[1] <= _MAX_CHANNELS
    if ok and layout == "NHWC":
        ok = 1 <= shape[-1] <= _MAX_CHANNELS
    if not ok:
        guess = _guess(shape)
        hint = (
            {
                "NCHW": " It looks channels-first: use helpers.layouts.nchw_to_nhwc.",
                "NHWC": " It looks channels-last: use helpers.layouts.nhwc_to_nchw.",
            }.get(guess, "")
            if guess != layout
            else ""
        )
        raise ValueError(
            f"expected images in {layout} layout ({', '.join(layout)}) with 1-{_MAX_CHANNELS} "
            f"channels, got shape {shape}.{hint}"
        )
    if dtype is not None and np.dtype(str(x.dtype).replace("torch.", "")) != np.dtype(dtype):
        raise ValueError(f"expected {np.dtype(dtype).name} images, got {x.dtype}.")


def nchw_to_nhwc(x_nchw):
    """``(N, C, H, W)`` to ``(N, H, W, C)``; keeps the array type (NumPy or torch)."""
    check_images(x_nchw, "NCHW")
    if hasattr(x_nchw, "permute"):
        return x_nchw.permute(0, 2, 3, 1)
    return np.transpose(x_nchw, (0, 2, 3, 1))


def nhwc_to_nchw(x_nhwc):
    """``(N, H, W, C)`` to ``(N, C, H, W)``; keeps the array type (NumPy or torch)."""
    check_images(x_nhwc, "NHWC")
    if hasattr(x_nhwc, "permute"):
        return x_nhwc.permute(0, 3, 1, 2)
    return np.transpose(x_nhwc, (0, 3, 1, 2))


def shap_to_nhwc_list(shap_values, layout: str) -> list[np.ndarray]:
    """Per-output SHAP maps as the list of ``(N, H, W, C)`` arrays ``shap.image_plot`` needs.

    Parameters
    ----------
    shap_values : ndarray or list of ndarray
        What an explainer returned: one array ``(N, C, H, W, K)`` (PyTorch, ``layout="NCHWK"``)
        or ``(N, H, W, C, K)`` (Keras, ``layout="NHWCK"``), or a list of K per-output arrays
        ``(N, C, H, W)`` / ``(N, H, W, C)`` (older shap releases).
    layout : {"NCHWK", "NHWCK"}
        The layout of one explained image and output, as above.

    Returns
    -------
    list of K ndarray, each (N, H, W, C)
    """
    if layout not in ("NCHWK", "NHWCK"):
        raise ValueError(f"layout must be 'NCHWK' (PyTorch) or 'NHWCK' (Keras), got {layout!r}.")
    if isinstance(shap_values, list | tuple):
        per_output = [to_numpy(v) for v in shap_values]
    else:
        values = to_numpy(shap_values)
        if values.ndim != 5:
            raise ValueError(
                f"expected SHAP values of shape ({', '.join(layout)}), got {values.shape}; "
                "for a single-output model add the output axis with values[..., None]."
            )
        per_output = [values[..., k] for k in range(values.shape[-1])]
    image_layout = layout[:-1]
    converted = []
    for v in per_output:
        check_images(v, image_layout)
        converted.append(np.transpose(v, (0, 2, 3, 1)) if image_layout == "NCHW" else v)
    return converted
