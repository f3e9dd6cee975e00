"""Split a PyTorch model at a layer into a *head* (input -> what enters the layer) and a *tail*
(that -> the output), so that a layer can be explained in its own space.

Expected gradients at a layer are expected gradients of the tail, with the background mapped
through the head::

    head, tail = layers.split_at(model, model.layer3, example_input)
    explainer = shap.GradientExplainer(tail, head(background))
    values = explainer.shap_values(head(images))   # add up to f(x) - E f(b) in expectation

:func:`expected_gradients_at` does exactly that (chapter 3 writes it out; chapters 4 to 6 call
it). :func:`shap_values_in_chunks` bounds GradientExplainer's memory: shap holds every sample
of a call at once.

shap 0.51.0's own ``GradientExplainer((model, layer), background)`` computes something else: it
interpolates between *images* and multiplies the layer gradient by the layer's input at the
sampled point (``samples_delta`` is set to the hooked layer input in
``shap/explainers/_gradient.py``, ``_PyTorchGradient.shap_values``), so its values do not add
up. Chapter 5 and ``tests/test_layers.py`` measure both.

For the architectures of the course, whose ``forward`` is a plain sequence of stages
(torchvision's ResNet and VGG, :class:`helpers.models.MnistCNN` and any ``nn.Sequential``), the
pieces are ``nn.Sequential`` containers of the model's modules. Any other model, or a cut inside
a stage, is traced with ``torch.fx`` and cut in its graph: the pieces are then
``torch.fx.GraphModule`` objects. Either way they share the model's modules (no copy of the
weights), and a cut that a skip connection crosses is refused with an error that names it.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
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


def _describe(node) -> str:
    """A graph node in words: the module it calls, or the function or method."""
    if node.op == "call_module":
        return f"module `{node.target}`"
    if node.op == "placeholder":
        return f"the model's input `{node.target}`"
    name = getattr(node.target, "__name__", str(node.target))
    return f"`{name}`"


def _module_path(node) -> str:
    """Dotted name of the innermost module a traced node ran in ('' at the top level)."""
    stack = node.meta.get("nn_module_stack") or {}
    return next(reversed(stack), "").split("@")[0] if stack else ""


def _split_fx(model: nn.Module, layer: nn.Module, qualname: str):
    """Cut ``model``'s torch.fx graph at the input of ``layer``: (head, tail) GraphModules."""
    from torch import fx

    class _Tracer(fx.Tracer):  # the layer stays one call, whatever it contains
        def is_leaf_module(self, module, name):
            return module is layer or super().is_leaf_module(module, name)

    try:
        graph = _Tracer().trace(model)
    except Exception as err:  # torch.fx raises many kinds on untraceable code
        raise TypeError(
            f"split_at cuts a model in its torch.fx graph, and {type(model).__name__} cannot be "
            f"traced ({type(err).__name__}: {err}). Remove data-dependent Python control flow "
            "from its forward, or pass an nn.Sequential that computes the same function."
        ) from err
    calls = [n for n in graph.nodes if n.op == "call_module" and n.target == qualname]
    if len(calls) != 1:
        raise ValueError(
            f"`{qualname}` runs {len(calls)} times in {type(model).__name__}.forward; a cut needs "
            "a module that runs once."
        )
    call = calls[0]
    if (
        len(call.all_input_nodes) != 1
        or not call.args
        or call.args[0] is not call.all_input_nodes[0]
    ):
        raise ValueError(
            f"`{qualname}` takes {len(call.all_input_nodes)} tensors; a cut needs one input."
        )
    cut = call.args[0]

    def ancestors(node) -> set:
        seen, todo = set(), [node]
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(current.all_input_nodes)
        return seen

    before = ancestors(cut)
    output = next(n for n in graph.nodes if n.op == "output")
    needed = ancestors(output)
    after = [n for n in graph.nodes if n in needed and n not in before]
    for node in after:
        if node.op == "placeholder":
            raise ValueError(f"the model's input `{node.target}` is used after the cut as well.")
        for used in node.all_input_nodes:
            if used in before and used is not cut and used.op != "get_attr":
                where = _module_path(node)
                shared = itertools.takewhile(
                    lambda pair: pair[0] == pair[1],
                    zip(qualname.split("."), where.split("."), strict=False),
                )
                block = ".".join(a for a, _ in shared)
                hint = (
                    f" (perhaps at the input of `{block}`, the block that holds both ends,"
                    " if the connection starts inside it)"
                    if block
                    else ""
                )
                raise ValueError(
                    f"a skip connection crosses a cut at the input of `{qualname}`: "
                    f"{_describe(node)}" + (f" in `{where}`" if where else "") + " also uses "
                    f"the output of {_describe(used)}, computed before the cut. Cut before the "
                    f"connection starts{hint} or after it joins."
                )

    head_graph, env = fx.Graph(), {}
    for node in graph.nodes:
        if node in before:
            env[node] = head_graph.node_copy(node, lambda n: env[n])
    head_graph.output(env[cut])
    tail_nodes = [n for n in after if n.op != "output"]
    attrs = {u for n in tail_nodes for u in n.all_input_nodes if u.op == "get_attr"}
    tail_graph = fx.Graph()
    env = {cut: tail_graph.placeholder("layer_input")}
    for node in graph.nodes:
        if node in attrs or node in tail_nodes:
            env[node] = tail_graph.node_copy(node, lambda n: env[n])
    tail_graph.output(fx.map_arg(output.args[0], lambda n: env[n]))
    return fx.GraphModule(model, head_graph), fx.GraphModule(model, tail_graph)


def split_at(model: nn.Module, layer: nn.Module, example_input, atol: float = 1e-5):
    """Split ``model`` just before ``layer``: ``tail(head(x)) == model(x)``.

    Parameters
    ----------
    model : nn.Module
        Any model ``torch.fx`` can trace (torchvision's classifiers among them).
    layer : nn.Module
        The module whose *input* is the cut: a stage (``resnet.layer3``), a block
        (``resnet.layer3[1]``) or a module of a sequence (``vgg.features[16]``); it must run
        once, on one tensor, and nothing after it may use a value from before it.
    example_input : torch.Tensor, shape (N, ...)
        A small batch in the model's input layout; the split is checked on it.
    atol : float
        Tolerance of that check, relative to the largest output.

    Returns
    -------
    head, tail : nn.Sequential or torch.fx.GraphModule
        ``head`` maps ``(N, ...)`` inputs to the layer's input ``(N, C, h, w)`` (or ``(N, D)``);
        ``tail`` maps that to the model's output ``(N, K)``. They share the model's modules,
        hence its mode: put the model in eval mode before explaining (a warning says so when it
        is in training mode, where batch norm would mix the images of a batch).

    Raises
    ------
    TypeError
        For a model that ``torch.fx`` cannot trace.
    ValueError
        If a skip connection crosses the cut (a layer inside a residual block, say: the error
        names the connection and the block to cut at instead), if ``layer`` runs more than once
        or takes several tensors, if it is an in-place activation (``resnet.relu``, a ReLU of
        VGG's ``features``: the tail could not be differentiated), or if ``tail(head(x))``
        differs from ``model(x)``.
    """
    import torch

    names = {id(m): n for n, m in model.named_modules() if m is not model}
    if id(layer) not in names:
        raise ValueError(
            f"{type(layer).__name__} is not a module of {type(model).__name__}: pass the "
            "module object itself, e.g. model.layer3 or model.features[16]."
        )
    first = layer
    while isinstance(first, nn.Sequential) and len(first):
        first = first[0]
    if getattr(first, "inplace", False):
        raise ValueError(
            f"the tail would start with an in-place {type(first).__name__}: GradientExplainer "
            "hands the tail a tensor that requires gradients, and autograd refuses to change it "
            "in place. Cut at the module before it (its input), or set its inplace = False."
        )
    try:
        flat, starts = _flatten(_stages(model))
    except TypeError:
        flat, starts = [], {}
    if id(layer) in starts:  # a stage of a known sequence: nn.Sequential pieces
        index = starts[id(layer)]
        head, tail = nn.Sequential(*flat[:index]), nn.Sequential(*flat[index:])
    else:  # anything else: cut the torch.fx graph
        head, tail = _split_fx(model, layer, names[id(layer)])
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


def shap_values_in_chunks(explainer, images, nsamples: int, chunk: int, rseed: int,
                          ranked_outputs=None, **kwargs):  # fmt: skip
    """``explainer.shap_values(images, nsamples=nsamples)`` with at most ``chunk`` samples at once.

    shap's ``GradientExplainer.shap_values`` draws every sample of a call first and keeps them
    all (``samples_input`` and ``samples_delta`` in ``shap/explainers/_gradient.py``, the
    latter in float64 for PyTorch, then the gradients and their products): memory grows with
    ``nsamples`` times the size of the explained input. Here the samples are split into calls
    of at most ``chunk`` samples, each with its own seed, and the calls' means are averaged,
    weighted by their sizes. Each call's value is the mean of its samples, and shap applies no
    correction after the mean (it is commented out in 0.51.0), so the result is the mean of
    ``nsamples`` independent samples: the same estimator as one call, with other draws. With
    ``chunk >= nsamples`` it is exactly ``explainer.shap_values(..., rseed=rseed)``.

    Parameters
    ----------
    explainer : shap.GradientExplainer
        With one input (a model that takes one tensor or array).
    images : array or torch.Tensor, shape (N, ...)
    nsamples : int
        Samples per image and output in all.
    chunk : int
        The most samples per call.
    rseed : int
        Seed of the whole computation: the calls' seeds are drawn from it
        (``numpy.random.SeedSequence``), so two seeds never share a call's draws.
    ranked_outputs : int, optional
        Passed on; the ranks must agree between calls (a model in eval mode).
    **kwargs
        Passed to ``shap_values`` (``output_rank_order``, ...).

    Returns
    -------
    values : ndarray, shape (N, ..., K)
    ranks : ndarray of int, shape (N, ranked_outputs)
        Only with ``ranked_outputs``.
    """
    if nsamples < 1 or chunk < 1:
        raise ValueError(f"nsamples ({nsamples}) and chunk ({chunk}) must be at least 1")
    sizes = [min(chunk, nsamples - start) for start in range(0, nsamples, chunk)]
    seeds = [rseed] if len(sizes) == 1 else np.random.SeedSequence(rseed).generate_state(len(sizes))
    total, ranks = 0.0, None
    for size, seed in zip(sizes, seeds, strict=True):
        result = explainer.shap_values(images, nsamples=size, rseed=int(seed),
                                       ranked_outputs=ranked_outputs, **kwargs)  # fmt: skip
        values = result if ranked_outputs is None else result[0]
        if isinstance(values, list):
            raise TypeError("shap_values_in_chunks handles one-input models only")
        if ranked_outputs is not None:
            these = result[1]
            these = np.asarray(these.cpu() if hasattr(these, "cpu") else these)
            if ranks is not None and not np.array_equal(ranks, these):
                raise RuntimeError(
                    "the outputs were ranked differently in two calls: put the model in eval "
                    "mode (model.eval()) so that its outputs do not change between calls"
                )
            ranks = these
        total = total + np.asarray(values, dtype=np.float64) * size
    values = total / nsamples
    return values if ranked_outputs is None else (values, ranks)


def expected_gradients_at(model: nn.Module, layer: nn.Module, background, images, nsamples: int,
                          rseed: int, output: int | None = None, ranked_outputs=None,
                          chunk: int | None = None):  # fmt: skip
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
    chunk : int, optional
        At most this many samples at once (:func:`shap_values_in_chunks`); also the batch
        through the tail. Default: all ``nsamples`` in one call, as shap does.

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
    if chunk is not None:
        explainer = shap.GradientExplainer(tail, background_h, batch_size=chunk)
        return shap_values_in_chunks(explainer, images_h, nsamples, chunk, rseed,
                                     ranked_outputs=ranked_outputs)  # fmt: skip
    explainer = shap.GradientExplainer(tail, background_h)
    result = explainer.shap_values(images_h, nsamples=nsamples, ranked_outputs=ranked_outputs,
                                   rseed=rseed)  # fmt: skip
    if ranked_outputs is None:
        return result
    values, ranks = result
    return values, ranks.cpu().numpy()
