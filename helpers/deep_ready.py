"""A DeepExplainer-ready copy of a PyTorch model, made by a ``torch.fx`` graph rewrite.

shap's PyTorch DeepExplainer (``shap/explainers/_deep/deep_pytorch.py``) applies its DeepLIFT
rules through hooks on leaf ``nn.Module`` objects, and stores each module's forward input *on
the module* (``add_interim_values``). Three ways of writing a model defeat it without an error:
a nonlinearity called as a function (``F.relu``, ``torch.relu``, ``x.relu()``,
``F.max_pool2d``), which no hook sees; one activation or pooling module called twice, which
keeps only its last input; an ``inplace=True`` module, which overwrites a tensor the hooks hold.
:func:`deep_ready` traces the model with ``torch.fx``, gives every such call a module of its own,
checks on a batch that the copy computes the same function, and says what it changed.

What no rewrite fixes: shap's max-pool rule (``maxpool`` in the same file) un-pools with
``max_unpool``, which keeps one value where windows overlap (stride smaller than the kernel,
as in torchvision's ResNet stem ``MaxPool2d(3, 2, 1)``), so the values no longer add up; and a
module shap has no rule for gets the ordinary gradient. The copy's pre-flight check
(:func:`helpers.explain.preflight_deep_explainer`) lists both.
"""

from __future__ import annotations

import copy
import inspect
import re
from dataclasses import dataclass, field

from .explain import STATEFUL_RULES, PreflightReport, preflight_deep_explainer
from .report import wrap


class DeepReadyError(RuntimeError):
    """The model cannot be rewritten, or the rewritten copy computes something else."""


@dataclass(frozen=True)
class Change:
    """One rewrite: ``call`` (where, in the original) became ``module`` (in the copy)."""

    kind: str  # "functional", "reused" or "inplace"
    call: str
    module: str

    def __str__(self) -> str:
        return f"{self.kind:<10} {self.call}  ->  {self.module}"


@dataclass
class DeepReadyReport:
    """What :func:`deep_ready` changed, and how closely the copy reproduces the original.

    Attributes
    ----------
    changes : list of Change
        One entry per rewritten call or module.
    max_abs_difference : float
        Largest ``|copy(x) - model(x)|`` over the example batch and every output.
    n_inputs : int
        Size of the example batch the check ran on.
    preflight : PreflightReport
        :func:`helpers.explain.preflight_deep_explainer` on the copy: what remains.
    """

    changes: list[Change] = field(default_factory=list)
    max_abs_difference: float = 0.0
    n_inputs: int = 0
    preflight: PreflightReport = field(default_factory=PreflightReport)

    def __str__(self) -> str:
        lines = [
            f"deep_ready: {len(self.changes)} change(s); the copy computes the same function\n"
            f"    (max |copy(x) - model(x)| = {self.max_abs_difference:.1e} on "
            f"{self.n_inputs} inputs)"
        ]
        lines += [f"- {change}" for change in self.changes]
        if self.preflight.ok:
            lines.append("copy: " + str(self.preflight))
        else:
            lines.append("copy, still: " + str(self.preflight))
        return wrap("\n".join(lines), indent=4)


def _functional_rules():
    """``{callable or method name: (signature stub, module factory)}`` for the functions whose
    module shap has a rule for (``op_handler``), keyed by object for functions and by name for
    ``Tensor`` methods."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    def relu(input, inplace=False):  # noqa: A002 -- the stubs copy torch's signatures
        return nn.ReLU()

    def leaky_relu(input, negative_slope=0.01, inplace=False):  # noqa: A002
        return nn.LeakyReLU(negative_slope)

    def elu(input, alpha=1.0, inplace=False):  # noqa: A002
        return nn.ELU(alpha)

    def selu(input, inplace=False):  # noqa: A002
        return nn.SELU()

    def gelu(input, approximate="none"):  # noqa: A002
        return nn.GELU(approximate=approximate)

    def sigmoid(input):  # noqa: A002
        return nn.Sigmoid()

    def tanh(input):  # noqa: A002
        return nn.Tanh()

    def softplus(input, beta=1.0, threshold=20.0):  # noqa: A002
        return nn.Softplus(beta, threshold)

    def softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
        if dtype is not None or dim is None:
            raise ValueError("softmax with a dtype or without dim has no module equivalent")
        return nn.Softmax(dim)

    def max_pool(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
                 ceil_mode=False, return_indices=False, *, cls):  # fmt: skip
        if return_indices:
            raise ValueError("max pooling with return_indices has no DeepExplainer rule")
        return cls(kernel_size, stride, padding, dilation, ceil_mode=ceil_mode)

    def avg_pool(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
                 count_include_pad=True, divisor_override=None, *, cls):  # fmt: skip
        extra = {} if cls is nn.AvgPool1d else {"divisor_override": divisor_override}
        return cls(kernel_size, stride, padding, ceil_mode, count_include_pad, **extra)

    def pool(stub, cls):
        def factory(*args, **kwargs):
            return stub(*args, cls=cls, **kwargs)

        factory.__signature__ = inspect.signature(stub).replace(
            parameters=[p for p in inspect.signature(stub).parameters.values() if p.name != "cls"]
        )
        return factory

    rules = {}
    for stub, targets in [
        (relu, [F.relu, torch.relu, F.relu_, torch.relu_, "relu", "relu_"]),
        (leaky_relu, [F.leaky_relu, F.leaky_relu_]),
        (elu, [F.elu, F.elu_]),
        (selu, [F.selu, torch.selu, F.selu_]),
        (gelu, [F.gelu]),
        (sigmoid, [F.sigmoid, torch.sigmoid, "sigmoid", "sigmoid_"]),
        (tanh, [F.tanh, torch.tanh, "tanh", "tanh_"]),
        (softplus, [F.softplus]),
        (softmax, [F.softmax, torch.softmax, "softmax"]),
        (pool(max_pool, nn.MaxPool1d), [F.max_pool1d, torch.max_pool1d]),
        (pool(max_pool, nn.MaxPool2d), [F.max_pool2d, torch.max_pool2d]),
        (pool(max_pool, nn.MaxPool3d), [F.max_pool3d, torch.max_pool3d]),
        (pool(avg_pool, nn.AvgPool1d), [F.avg_pool1d]),
        (pool(avg_pool, nn.AvgPool2d), [F.avg_pool2d]),
        (pool(avg_pool, nn.AvgPool3d), [F.avg_pool3d]),
    ]:
        rules.update({target: stub for target in targets})
    return rules


_INPLACE_NAMES = re.compile(r".*[^_]_$")  # relu_, sigmoid_ ... (not __dunder__)


def _label(target) -> str:
    if isinstance(target, str):
        return f"Tensor.{target}()"
    module = getattr(target, "__module__", None) or "torch"
    prefix = "F" if module.startswith(("torch.nn.functional", "torch._C._nn")) else "torch"
    return f"{prefix}.{getattr(target, '__name__', target)}()"


def _where(node) -> str:
    """``file:line (code)`` of the user's line that made ``node``, from fx's stack trace."""
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)\n\s*(.*)', node.stack_trace or "")
    frames = [f for f in frames if "/torch/" not in f[0]]
    if not frames:
        return "forward"
    path, line, function, code = frames[-1]
    return f"{path.rsplit('/', 1)[-1]}:{line} in {function}: {code.strip()}"


def _trace(model):
    """``torch.fx`` graph of ``model``, or a :class:`DeepReadyError` naming the line it stopped."""
    import traceback

    from torch import fx

    tracer = fx.Tracer()
    tracer.record_stack_traces = True
    try:
        graph = tracer.trace(model)
    except Exception as err:  # fx raises TraceError, TypeError, NotImplementedError...
        frames = [f for f in traceback.extract_tb(err.__traceback__) if "/torch/" not in f.filename]
        where = (
            f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno} in "
            f"{frames[-1].name}: {frames[-1].line}"
            if frames
            else "inside torch"
        )
        raise DeepReadyError(
            f"torch.fx cannot trace {type(model).__name__}: it stopped at {where} "
            f"({type(err).__name__}: {str(err).splitlines()[0]}). fx runs forward on symbols, "
            "not values, so Python control flow on a tensor's values (if x.sum() > 0, a loop "
            "whose length depends on the data) cannot be recorded. Either make that line "
            "traceable (torch.where instead of if; torch.fx.wrap a helper function), rewrite "
            "the model by hand (one nn.Module per nonlinearity, used once, inplace=False), or "
            "explain it with shap.GradientExplainer, which needs only gradients."
        ) from err
    return fx.GraphModule(model, graph, class_name=type(model).__name__ + "DeepReady")


def _free_name(root, wanted: str) -> str:
    names = {name for name, _ in root.named_modules()}
    candidate, k = wanted, 1
    while candidate in names:
        k += 1
        candidate = f"{wanted}_{k}"
    return candidate


def _replace_inplace_uses(graph_order, node, new):
    """After an in-place call, later readers of its input read the new module's output."""
    source = node.args[0]
    if hasattr(source, "replace_all_uses_with"):
        position = graph_order[node]
        source.replace_all_uses_with(
            new,
            delete_user_cb=lambda user: user is not new and graph_order.get(user, 1e12) > position,
        )


def _rewrite(gm) -> list[Change]:
    """Rewrite ``gm`` in place; return the changes."""
    from collections import Counter

    from shap.explainers._deep.deep_pytorch import op_handler

    rules = _functional_rules()
    modules = dict(gm.named_modules())
    graph = gm.graph
    order = {n: i for i, n in enumerate(graph.nodes)}
    totals = Counter(n.target for n in graph.nodes if n.op == "call_module")
    seen: Counter = Counter()
    changes = []
    for node in list(graph.nodes):
        if node.op == "call_module":
            original = node.target
            module = modules[original]
            rule = op_handler.get(type(module).__name__)
            seen[original] += 1
            if rule is not None and rule.__name__ in STATEFUL_RULES and seen[original] > 1:
                module = copy.deepcopy(module)
                node.target = _free_name(gm, f"{original}_call{seen[original]}")
                gm.add_submodule(node.target, module)
                changes.append(
                    Change(
                        "reused",
                        f"{original} ({type(module).__name__}), call {seen[original]} of "
                        f"{totals[original]}",
                        node.target,
                    )
                )
            if getattr(module, "inplace", False):
                module.inplace = False
                changes.append(Change("inplace", node.target, f"{node.target} inplace=False"))
                _replace_inplace_uses(order, node, node)
            continue
        if node.op not in ("call_function", "call_method"):
            continue
        key = node.target
        if key not in rules:
            continue
        try:
            bound = inspect.signature(rules[key]).bind(*node.args, **node.kwargs)
            constants = {k: v for k, v in bound.arguments.items() if k != "input"}
            if any(hasattr(v, "op") for v in constants.values()):
                raise ValueError("an argument is computed in the graph")
            inplace = (
                bool(constants.pop("inplace", False))
                or (isinstance(key, str) and _INPLACE_NAMES.match(key) is not None)
                or getattr(key, "__name__", "").endswith("_")
            )
            fresh = rules[key](None, **constants)
        except (TypeError, ValueError) as err:
            changes.append(
                Change("kept", f"{_label(key)} at {_where(node)}", f"not rewritten: {err}")
            )
            continue
        name = _free_name(gm, node.name)
        gm.add_submodule(name, fresh)
        with graph.inserting_after(node):
            new = graph.call_module(name, args=(bound.arguments["input"],))
        node.replace_all_uses_with(new)
        order[new] = order[node]
        if inplace:
            _replace_inplace_uses(order, node, new)
        graph.erase_node(node)
        changes.append(
            Change(
                "functional", f"{_label(key)} at {_where(node)}", f"{name} ({type(fresh).__name__})"
            )
        )
    graph.lint()
    gm.recompile()
    return changes


def _max_abs_difference(a, b) -> float:
    import torch
    from torch.utils._pytree import tree_leaves

    pairs = zip(tree_leaves(a), tree_leaves(b), strict=True)
    return max(
        (float((x.double() - y.double()).abs().max()) for x, y in pairs if torch.is_tensor(x)),
        default=0.0,
    )


def deep_ready(model, example_input, atol: float = 1e-5):
    """A copy of ``model`` that shap's PyTorch DeepExplainer can read, and what was changed.

    Every functional nonlinearity or pooling with a DeepExplainer rule (``F.relu``,
    ``torch.relu``, ``x.relu()``, ``F.relu_``, ``F.leaky_relu``, ``F.elu``, ``F.selu``,
    ``F.gelu``, sigmoid, tanh, ``F.softplus``, softmax, ``F.max_pool1d/2d/3d``,
    ``F.avg_pool1d/2d/3d``) becomes a module of its own; every call after the first of an
    activation or max-pool module gets a fresh copy; in-place modules and calls become
    out-of-place. The original model is not modified (it is deep-copied first).

    Parameters
    ----------
    model : torch.nn.Module
        The model to rewrite; ``torch.fx.symbolic_trace`` must be able to trace it.
    example_input : torch.Tensor, shape (N, ...)
        A batch in the model's input layout, on the model's device; both models are run on it
        in eval mode (no gradient) to check that they compute the same function.
    atol : float
        Largest accepted ``|copy(x) - model(x)|``, relative to ``max(1, max |model(x)|)``.

    Returns
    -------
    copy : torch.fx.GraphModule
        The rewritten model, in eval mode.
    report : DeepReadyReport
        The changes (which call became which module), the measured difference, and the
        pre-flight check of the copy: what the rewrite could not fix (overlapping max-pool
        windows, modules shap has no rule for).

    Raises
    ------
    DeepReadyError
        When fx cannot trace the model (the message names the line where it stopped and what
        to do), or when the copy's outputs differ from the original's by more than ``atol``.
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"deep_ready needs a torch.nn.Module, got {type(model).__name__}.")
    rewritten = _trace(copy.deepcopy(model).eval())
    changes = _rewrite(rewritten)
    reference = copy.deepcopy(model).eval()
    rewritten.eval()
    with torch.no_grad():
        expected = reference(example_input)
        difference = _max_abs_difference(rewritten(example_input), expected)
        scale = max(1.0, _max_abs_difference(expected, torch.utils._pytree.tree_map(
            lambda t: t * 0 if torch.is_tensor(t) else t, expected)))  # fmt: skip
    if not difference <= atol * scale:
        raise DeepReadyError(
            f"the rewritten copy of {type(model).__name__} differs from it by {difference:.2e} "
            f"(tolerance {atol * scale:.1e}); changes made: {[str(c) for c in changes]}. An "
            "in-place call whose input is read again is the usual cause: make it out-of-place "
            "in forward by hand."
        )
    report = DeepReadyReport(
        changes, difference, len(example_input), preflight_deep_explainer(rewritten, example_input)
    )
    return rewritten, report


def deep_explainer_additivity(model, background, images):
    """Run ``shap.DeepExplainer`` on ``images`` and check additivity against the gap.

    Parameters
    ----------
    model : torch.nn.Module
    background : torch.Tensor, shape (B, ...)
    images : torch.Tensor, shape (N, ...)
        Both in the model's input layout, on its device.

    Returns
    -------
    AdditivityReport
        ``max_gap_error`` is the error as a share of the largest gap ``|f(x) - E f|``; not
        raised on (this function measures, the chapters print).
    """
    import warnings

    import shap
    import torch

    from .explain import check_additivity

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="unrecognized nn.Module")
        explainer = shap.DeepExplainer(model, background)
        values = explainer.shap_values(images, check_additivity=False)
    with torch.no_grad():
        outputs = model(images)
    return check_additivity(values, explainer.expected_value, outputs, raise_error=False)
