"""Split a PyTorch model at a layer into a *head* (input -> what enters the layer) and a *tail*
(that -> the output), so that a layer can be explained in its own space.

Expected gradients at a layer are expected gradients of the tail, with the background mapped
through the head::

    head, tail = layers.split_at(model, model.layer3, example_input)
    explainer = shap.GradientExplainer(tail, head(background))
    values = explainer.shap_values(head(images))   # add up to f(x) - E f(b) in expectation

:func:`expected_gradients_at` does exactly that (chapter 3 writes it out; chapters 4 to 6 call
it).

shap 0.51.0's own ``GradientExplainer((model, layer), background)`` computes something else: it
interpolates between *images* and multiplies the layer gradient by the layer's input at the
sampled point (``samples_delta`` is set to the hooked layer input in
``shap/explainers/_gradient.py``, ``_PyTorchGradient.shap_values``), so its values do not add
up. Chapter 5 and ``tests/test_layers.py`` measure both.

The split works for the architectures of the course, whose ``forward`` is a plain sequence of
stages: torchvision's ResNet and VGG, :class:`helpers.models.MnistCNN` and any
``nn.Sequential``. The pieces share the model's modules (no copy of the weights).
"""

from __future__ import annotations

import warnings

from torch import nn


def _stages(model: nn.Module) -> list[nn.Module]:
    """The model's forward pass as a list of modules applied one after the other."""
    from .models import MnistCNN

    kind = type(model).__name__
    if isinstance(model, nn.Sequential):
        return list(model)
    if isinstance(model, MnistCNN):
        return [model.features, model.classifier]
    if kind == "ResNet":  # torchvision.models.resnet.ResNet.forward
        return [model.conv1, model.bn1, model.relu, model.maxpool, model.layer1, model.layer2,
                model.layer3, model.layer4, model.avgpool, nn.Flatten(1), model.fc]  # fmt: skip
    if kind == "VGG":  # torchvision.models.vgg.VGG.forward
        return [model.features, model.avgpool, nn.Flatten(1), model.classifier]
    raise TypeError(
        f"split_at does not know how {kind}.forward chains its modules; it knows torchvision "
        "ResNet and VGG, helpers.models.MnistCNN and nn.Sequential. Write the model as an "
        "nn.Sequential (or pass one that computes the same function)."
    )


def _flatten(stages: list[nn.Module]) -> tuple[list[nn.Module], dict[int, int]]:
    """Open nested ``nn.Sequential`` containers; map each container (by id) to its first index."""
    flat: list[nn.Module] = []
    starts: dict[int, int] = {}
    for module in stages:
        if isinstance(module, nn.Sequential) and len(module):
            inner, inner_starts = _flatten(list(module))
            starts[id(module)] = len(flat)
            starts.update({key: len(flat) + value for key, value in inner_starts.items()})
            flat.extend(inner)
        else:
            starts.setdefault(id(module), len(flat))
            flat.append(module)
    return flat, starts


def split_at(model: nn.Module, layer: nn.Module, example_input, atol: float = 1e-5):
    """Split ``model`` just before ``layer``: ``tail(head(x)) == model(x)``.

    Parameters
    ----------
    model : nn.Module
        A torchvision ResNet or VGG, a :class:`helpers.models.MnistCNN`, or an ``nn.Sequential``.
    layer : nn.Module
        The module whose *input* is the cut: a stage (``resnet.layer3``), a block
        (``resnet.layer3[1]``) or a module of a sequence (``vgg.features[16]``).
    example_input : torch.Tensor, shape (N, ...)
        A small batch in the model's input layout; the split is checked on it.
    atol : float
        Tolerance of that check, relative to the largest output.

    Returns
    -------
    head, tail : nn.Sequential
        ``head`` maps ``(N, ...)`` inputs to the layer's input ``(N, C, h, w)`` (or ``(N, D)``);
        ``tail`` maps that to the model's output ``(N, K)``. They share the model's modules,
        hence its mode: put the model in eval mode before explaining (a warning says so when it
        is in training mode, where batch norm would mix the images of a batch).

    Raises
    ------
    TypeError
        For a model whose forward pass is not a known sequence of stages.
    ValueError
        If ``layer`` is not on the model's main path (inside a residual block, say), or if
        ``tail(head(x))`` differs from ``model(x)``.
    """
    import torch

    flat, starts = _flatten(_stages(model))
    if id(layer) not in starts:
        names = {id(m): n for n, m in model.named_modules()}
        cuts = sorted({names.get(key, "?") for key in starts} - {"?"})
        raise ValueError(
            f"{type(layer).__name__} is not a point where {type(model).__name__} can be cut in "
            f"two (everything after it must depend on its input alone). Cut points: "
            f"{', '.join(cuts)}."
        )
    index = starts[id(layer)]
    head, tail = nn.Sequential(*flat[:index]), nn.Sequential(*flat[index:])
    was_training = model.training
    if was_training:
        warnings.warn(
            f"{type(model).__name__} is in training mode: head and tail share its modules, so "
            "batch norm and dropout would act as in training. Call model.eval() first.",
            stacklevel=2,
        )
    model.eval()
    try:
        with torch.no_grad():
            expected, got = model(example_input), tail(head(example_input))
    finally:
        model.train(was_training)
    scale = float(expected.abs().max().clamp_min(1e-12))
    error = float((expected - got).abs().max()) / scale
    if error > atol:
        raise ValueError(
            f"tail(head(x)) differs from model(x) by {error:.1e} of the largest output: "
            f"{type(model).__name__}.forward does more than chain its stages."
        )
    return head, tail


def expected_gradients_at(model: nn.Module, layer: nn.Module, background, images, nsamples: int,
                          rseed: int, output: int | None = None, ranked_outputs=None):  # fmt: skip
    """Expected gradients at the input of ``layer``: ``shap.GradientExplainer`` on the tail.

    The model is split with :func:`split_at`, the background and the images are mapped through
    the head, and shap's own ``GradientExplainer(tail, head(background))`` explains the tail on
    ``head(images)``. The values live in the layer's space and add up, in expectation over
    the samples, to ``f(x) - mean f(background)``.

    Parameters
    ----------
    model, layer : nn.Module
        As for :func:`split_at` (the model in eval mode).
    background : torch.Tensor, shape (B, ...)
        Reference inputs, in the model's input layout.
    images : torch.Tensor, shape (N, ...)
        The inputs explained.
    nsamples, rseed : int
        Passed to ``shap_values``: random points per image and output, and the seed.
    output : int, optional
        Explain this output alone (``helpers.models.SelectOutput``): K times cheaper.
    ranked_outputs : int, optional
        Passed to ``shap_values``: explain each image's top outputs only.

    Returns
    -------
    values : ndarray, shape (N, C, h, w, K)
        ``K`` is 1 with ``output``, ``ranked_outputs`` with it, the model's outputs otherwise;
        ``(N, D, K)`` for a flat layer input.
    ranks : ndarray of int, shape (N, ranked_outputs)
        Only with ``ranked_outputs``: the outputs explained (shap returns a tensor on the
        model's device; it comes back as a NumPy array).
    """
    import shap
    import torch

    from .models import SelectOutput

    head, tail = split_at(model, layer, images[:2])
    with torch.no_grad():
        background_h, images_h = head(background), head(images)
    if output is not None:
        tail = SelectOutput(tail, output)
    explainer = shap.GradientExplainer(tail, background_h)
    result = explainer.shap_values(images_h, nsamples=nsamples, ranked_outputs=ranked_outputs,
                                   rseed=rseed)  # fmt: skip
    if ranked_outputs is None:
        return result
    values, ranks = result
    return values, ranks.cpu().numpy()
