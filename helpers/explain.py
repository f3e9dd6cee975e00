"""Checks that make SHAP results trustworthy: additivity relative to the gap being explained,
and a pre-flight check of a PyTorch model before ``shap.DeepExplainer`` sees it.

shap's own additivity check (``shap/explainers/_deep/deep_utils.py``, ``_check_additivity``)
uses an absolute tolerance of 0.01, loose for probabilities and strict for large logits, and
must be switched off when ``ranked_outputs`` is used. A tolerance relative to the size of the
outputs, ``max(|f(x)|, |E f|)``, is no better: adding the same constant to every logit changes
neither the SHAP values nor a single prediction, but makes such a tolerance as lax as one likes.
:func:`check_additivity` judges the error relative to the largest *gap* ``|f(x) - E f|`` among
the explained outputs, the quantity the values share out, which no offset changes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .layouts import to_numpy
from .report import wrap

#: Default tolerance on the error as a share of the largest gap. DeepExplainer's values add up
#: exactly up to float32 rounding (about 1e-7 of the gap in chapters 1 and 5), while one that
#: misses an ``F.relu`` is off by about the whole gap (chapter 1 measures both; its reused
#: ``nn.ReLU`` fails outright); 1e-3 sits between the two. Monte-Carlo estimators
#: (GradientExplainer) are checked with ``raise_error=False``: their error is printed, not
#: held to this tolerance.
DEFAULT_RTOL = 1e-3


class AdditivityError(AssertionError):
    """SHAP values do not add up to ``f(x) - E[f(background)]``."""


@dataclass(frozen=True)
class AdditivityReport:
    """Result of :func:`check_additivity`.

    Attributes
    ----------
    max_abs_error : float
        Largest ``|sum(phi) + E[f] - f(x)|`` over images and explained outputs.
    max_rel_error : float
        ``max_abs_error / scale`` (the scale shap's own check uses; offset-dependent).
    scale : float
        Largest ``|f(x)|`` or ``|E[f]|`` among the explained outputs.
    rtol : float
        The tolerance on ``max_gap_error``.
    gap : float
        Largest ``|f(x) - E[f]|`` among the explained outputs: the size of what is shared out.
    max_gap_error : float
        ``max_abs_error / gap``: the error as a share of the gap (what ``ok`` tests).
    """

    max_abs_error: float
    max_rel_error: float
    scale: float
    rtol: float
    gap: float
    max_gap_error: float

    @property
    def ok(self) -> bool:
        """True when the error, as a share of the largest gap, is within tolerance."""
        return bool(self.max_gap_error <= self.rtol)

    def __str__(self) -> str:
        verdict = "holds" if self.ok else "FAILS"
        return (
            f"additivity {verdict}: max |sum(SHAP) + E[f] - f(x)| = {self.max_abs_error:.2e},\n"
            f"  i.e. {self.max_gap_error:.2e} of the largest gap |f(x) - E[f]| = {self.gap:.3g}\n"
            f"  (tolerance {self.rtol:.0e}; {self.max_rel_error:.2e} of the output scale "
            f"{self.scale:.3g})"
        )


def _as_values(shap_values) -> np.ndarray:
    if isinstance(shap_values, list | tuple):  # older shap: one array per output
        return np.stack([to_numpy(v) for v in shap_values], axis=-1)
    return to_numpy(shap_values)


def check_additivity(
    shap_values,
    expected_value,
    model_output,
    output_indexes=None,
    rtol: float = DEFAULT_RTOL,
    raise_error: bool = True,
) -> AdditivityReport:
    """Check ``sum(phi_i) + E[f] == f(x)`` for every explained image and output.

    Parameters
    ----------
    shap_values : ndarray, tensor or list
        ``(N, ..., K)`` for K explained outputs (any feature layout between), a list of K arrays
        ``(N, ...)``, or ``(N, ...)`` when ``model_output`` is 1-D (one output).
    expected_value : array-like, shape (C,) or scalar
        The explainer's ``expected_value`` (NumPy, torch or TensorFlow; converted here).
    model_output : array-like, shape (N, C) or (N,)
        The model's outputs for the explained images, on the scale that was explained
        (logits or probabilities).
    output_indexes : array-like of int, shape (N, K), optional
        With ``ranked_outputs``: the indexes shap returned; ``model_output`` and
        ``expected_value`` are then indexed per image.
    rtol : float
        Tolerance on the error relative to the largest gap ``|f(x) - E[f]|`` among the
        explained outputs. The gap, unlike ``|f(x)|``, does not change when a constant is added
        to every output; the largest gap rather than each output's own is used because an
        output that barely moved has a gap near 0 and a meaningless ratio.
    raise_error : bool
        Raise :class:`AdditivityError` when the check fails (default) or only report.

    Returns
    -------
    AdditivityReport
    """
    values = _as_values(shap_values).astype(np.float64)
    out = to_numpy(model_output).astype(np.float64)
    base = np.atleast_1d(to_numpy(expected_value).astype(np.float64))
    if out.ndim == 1:
        totals = values.reshape(len(values), -1).sum(axis=1)
        target, reference = out, np.broadcast_to(base[0], out.shape)
    else:
        totals = values.reshape(len(values), -1, values.shape[-1]).sum(axis=1)
        if output_indexes is None:
            target, reference = out, np.broadcast_to(base, out.shape)
        else:
            idx = to_numpy(output_indexes).astype(int)
            target, reference = np.take_along_axis(out, idx, axis=1), base[idx]
    if totals.shape != target.shape:
        raise ValueError(
            f"SHAP values sum to shape {totals.shape} but the explained outputs have shape "
            f"{target.shape}; pass output_indexes when ranked_outputs was used."
        )
    abs_err = float(np.max(np.abs(totals + reference - target)))
    scale = float(max(np.max(np.abs(target)), np.max(np.abs(reference)), 1e-12))
    gap = float(max(np.max(np.abs(target - reference)), 1e-12))
    report = AdditivityReport(abs_err, abs_err / scale, scale, rtol, gap, abs_err / gap)
    if raise_error and not report.ok:
        raise AdditivityError(
            f"{report}. For a PyTorch model, run helpers.explain.preflight_deep_explainer: "
            "functional activations (F.relu) and reused or in-place modules break DeepExplainer "
            "(helpers.deep_ready.deep_ready fixes them in a copy), and so do max-pools with "
            "overlapping windows."
        )
    return report


NONLINEAR_FUNCTIONS = frozenset(
    {
        "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "prelu",
        "sigmoid", "tanh", "softplus", "softmax", "log_softmax", "logsigmoid", "hardtanh",
        "hardswish", "hardsigmoid", "threshold", "glu", "max_pool1d", "max_pool2d",
        "max_pool3d", "max_pool2d_with_indices", "adaptive_max_pool1d", "adaptive_max_pool2d",
    }
)  # fmt: skip


@dataclass
class PreflightReport:
    """Problems :func:`preflight_deep_explainer` found, one line each (empty: none)."""

    reused: list[str] = field(default_factory=list)
    inplace: list[str] = field(default_factory=list)
    functional: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    overlapping_maxpool: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not (self.reused or self.inplace or self.functional or self.unsupported
                    or self.overlapping_maxpool)  # fmt: skip

    def __str__(self) -> str:
        if self.ok:
            return "pre-flight OK: every nonlinearity is its own, used-once nn.Module."
        parts = [
            ("modules used more than once", self.reused),
            ("in-place activations (set inplace=False)", self.inplace),
            ("functional nonlinearities outside modules (use nn modules)", self.functional),
            ("modules DeepExplainer has no rule for (it passes the plain gradient through, "
             "with a warning)", self.unsupported),
            ("max-pools with overlapping windows (stride < kernel: shap's rule does not add "
             "up)", self.overlapping_maxpool),
        ]  # fmt: skip
        lines = ["pre-flight found problems for shap.DeepExplainer:"]
        lines += [f"- {title}: {', '.join(items)}" for title, items in parts if items]
        if self.reused or self.inplace or self.functional:
            lines.append(
                "  helpers.deep_ready.deep_ready(model, batch) rewrites a copy that fixes the "
                "reused, in-place and functional ones."
            )
        if self.unsupported or self.overlapping_maxpool:
            lines.append(
                "  No rewrite fixes the rest: use shap.GradientExplainer, or compare "
                "DeepExplainer's values against it and check additivity."
            )
        return wrap("\n".join(lines), indent=4)


def _overlapping(module) -> bool:
    """A max-pool whose stride is smaller than its kernel along some axis."""
    kernel, stride = module.kernel_size, module.stride or module.kernel_size
    n = 1 + int(type(module).__name__[-2])  # MaxPool1d -> 1, MaxPool2d -> 2, ...
    as_tuple = lambda v: tuple(v) if isinstance(v, tuple | list) else (v,) * n  # noqa: E731
    return any(s < k for s, k in zip(as_tuple(stride), as_tuple(kernel), strict=True))


#: shap's rule kinds that store the module's input and output on the module
#: (``add_interim_values`` in ``deep_pytorch.py``): a second call overwrites the first's.
STATEFUL_RULES = frozenset({"nonlinear_1d", "maxpool"})


def _shap_rules() -> dict[str, str]:
    """``{module type name: shap rule name}`` from shap's ``op_handler``."""
    from shap.explainers._deep.deep_pytorch import op_handler

    return {name: rule.__name__ for name, rule in op_handler.items()}


def preflight_deep_explainer(model, example_input) -> PreflightReport:
    """Run one forward pass of ``model`` and report what would make DeepExplainer wrong.

    Parameters
    ----------
    model : torch.nn.Module
        The model to explain. It is run in eval mode (its mode is restored afterwards).
    example_input : torch.Tensor, shape (N, ...)
        A small batch in the model's input layout.

    Returns
    -------
    PreflightReport
        Activation and max-pool modules called more than once (a reused linear module is
        harmless: shap keeps no state for it), ``inplace=True`` modules, nonlinear functions called
        outside any leaf module (``F.relu`` in ``forward``), leaf module types missing from
        shap's PyTorch rule table (``op_handler`` in ``shap/explainers/_deep/deep_pytorch.py``;
        ``deeplift_grad`` warns and returns the plain gradient), and ``MaxPool1d/2d/3d`` with a
        stride smaller than the kernel (shap's ``maxpool`` rule un-pools with ``max_unpool``,
        which keeps one value where windows overlap: tested in ``tests/test_shap_pitfalls.py``).
        :func:`helpers.deep_ready.deep_ready` fixes the first three in a copy.
    """
    import torch
    from torch.overrides import TorchFunctionMode

    leaves = {m: n for n, m in model.named_modules() if not list(m.children()) and n}
    calls: Counter = Counter()
    depth = [0]
    functional: list[str] = []

    class _Recorder(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", "").strip("_")
            if depth[0] == 0 and name in NONLINEAR_FUNCTIONS and name not in functional:
                functional.append(name)
            return func(*args, **(kwargs or {}))

    def enter(module, _inputs):
        calls[leaves[module]] += 1
        depth[0] += 1

    def leave(module, _inputs, _output):
        depth[0] -= 1

    handles = [m.register_forward_pre_hook(enter) for m in leaves]
    handles += [m.register_forward_hook(leave) for m in leaves]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), _Recorder():
            model(example_input)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    supported = _shap_rules()
    return PreflightReport(
        reused=[f"{n} (x{calls[n]})" for m, n in leaves.items() if calls[n] > 1
                and supported.get(type(m).__name__) in STATEFUL_RULES],
        inplace=[n for m, n in leaves.items() if getattr(m, "inplace", False)],
        functional=[f"{f}()" for f in functional],
        unsupported=sorted(
            {f"{n} ({type(m).__name__})" for m, n in leaves.items()
             if type(m).__name__ not in supported and calls[n]}
        ),
        overlapping_maxpool=[f"{n} ({m})" for m, n in leaves.items()
                             if type(m).__name__ in ("MaxPool1d", "MaxPool2d", "MaxPool3d")
                             and calls[n] and _overlapping(m)],
    )  # fmt: skip


def layer_map(shap_values, layout: str, size: int) -> np.ndarray:
    """Sum a layer's SHAP values over its channels and enlarge them to the image size.

    Each cell of the layer's grid becomes a block of pixels, and its value is shared evenly
    among them, so the sum of a map equals the sum of the layer's SHAP values (additivity is
    kept). Blocks, not smooth interpolation: the map shows the layer's real resolution.

    Parameters
    ----------
    shap_values : ndarray, tensor or list
        ``(N, C, h, w, K)`` for a PyTorch layer (``layout="NCHWK"``) or ``(N, h, w, C, K)`` for
        Keras (``"NHWCK"``), or a list of K arrays in the layer's layout.
    layout : {"NCHWK", "NHWCK"}
    size : int
        Image side length; a multiple of ``h`` and ``w``.

    Returns
    -------
    ndarray, shape (N, size, size, K)
    """
    values = _as_values(shap_values)
    if layout not in ("NCHWK", "NHWCK") or values.ndim != 5:
        raise ValueError(
            f"layer_map needs 5-D values (N, C, h, w, K) or (N, h, w, C, K) and layout "
            f"'NCHWK' or 'NHWCK'; got shape {values.shape} and layout {layout!r}."
        )
    maps = values.sum(axis=1 if layout == "NCHWK" else 3)  # (N, h, w, K)
    h, w = maps.shape[1:3]
    if size % h or size % w:
        raise ValueError(f"image size {size} is not a multiple of the layer's grid {h}x{w}.")
    fy, fx = size // h, size // w
    return np.repeat(np.repeat(maps, fy, axis=1), fx, axis=2) / (fy * fx)


def concentration(map_hw, fraction: float = 0.1) -> float:
    """Share of a map's total |attribution| that lies in its top ``fraction`` of pixels.

    1.0 means everything sits in those pixels; ``fraction`` itself means it is spread evenly.

    Parameters
    ----------
    map_hw : array-like, shape (H, W) or any shape
    fraction : float in (0, 1]

    Returns
    -------
    float
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}.")
    magnitude = np.sort(np.abs(to_numpy(map_hw)).ravel())[::-1]
    total = magnitude.sum()
    if total == 0:
        return float("nan")
    top = max(1, int(round(fraction * magnitude.size)))
    return float(magnitude[:top].sum() / total)


def true_class_maps(shap_values, classes) -> np.ndarray:
    """Each image's SHAP values for one chosen class (e.g. its true class), flattened.

    Parameters
    ----------
    shap_values : ndarray, tensor or list
        Classes last: ``(N, ..., K)`` (PyTorch ``NCHWK``, Keras ``NHWCK``), or a list of K
        arrays ``(N, ...)``.
    classes : array-like of int, shape (N,)
        The class to take for each image.

    Returns
    -------
    ndarray, shape (N, F)
        ``F`` is the number of features per image (``C*H*W``); the order of the layout is kept.
    """
    values = _as_values(shap_values)
    classes = np.asarray(classes)
    if classes.shape != (len(values),):
        raise ValueError(
            f"need one class per image: {len(values)} images, classes {classes.shape}."
        )
    if classes.min() < 0 or classes.max() >= values.shape[-1]:
        raise ValueError(f"classes must lie in 0..{values.shape[-1] - 1}, got {classes.tolist()}.")
    return values[np.arange(len(classes)), ..., classes].reshape(len(classes), -1)
