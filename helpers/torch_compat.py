"""Import torchvision even where its wheel was built for CUDA and the CPU torch lacks its ops.

The course pins ``torch==2.13.0`` (a CPU build) with ``torchvision==0.28.0``, whose wheel is
CUDA-built: ``import torchvision`` then stops with ``RuntimeError: operator torchvision::nms does
not exist`` while registering fake kernels for ``nms`` and ``qnms``. Defining those two operator
schemas (no kernels) lets the import finish: models, transforms and datasets work, while
``torchvision.ops`` still raises when called. Everywhere else (Colab, a matching CPU or CUDA
wheel) the import works at once and this module does nothing.
"""

from __future__ import annotations

import importlib
import sys

_MISSING_OP_ERROR = "operator torchvision::nms does not exist"
_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_library = None  # keeps the schema registration alive for the process


def _forget_torchvision() -> None:
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]


def _define_missing_schemas() -> None:
    global _library
    import torch

    if _library is None:
        _library = torch.library.Library("torchvision", "FRAGMENT")
        for schema in _SCHEMAS:
            _library.define(schema)


def schemas_patched() -> bool:
    """True once this process needed (and applied) the missing-schema workaround."""
    return _library is not None


def import_torchvision():
    """Return the ``torchvision`` module, applying the workaround only for the known error.

    Any other import error is raised unchanged.
    """
    try:
        return importlib.import_module("torchvision")
    except RuntimeError as err:
        if _MISSING_OP_ERROR not in str(err):
            raise
    _forget_torchvision()
    _define_missing_schemas()
    return importlib.import_module("torchvision")
