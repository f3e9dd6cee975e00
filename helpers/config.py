"""Course-wide settings: the cost profile, folders, offline mode, seeds and device.

Every environment variable the course reads is read here and nowhere else:

``SHAP_COURSE_PROFILE``
    ``fast`` (CI, quick labs) or ``full`` (default, what readers see). In Google Colab the
    notebook's first cell sets it from a form field (:func:`choose_profile`).
``SHAP_COURSE_OFFLINE``
    ``1`` forbids every download; missing data then raises an error that says what to set.
``SHAP_COURSE_DATA``
    A writable cache folder for downloaded or unpacked files (default: a user cache folder).
``SHAP_COURSE_PRELOADED``
    Extra read-only folders (separated by ``os.pathsep``) searched before the cache, e.g. a
    classroom's pre-loaded data folder. Nothing is ever written into them.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

PROFILE_VAR = "SHAP_COURSE_PROFILE"
OFFLINE_VAR = "SHAP_COURSE_OFFLINE"
DATA_VAR = "SHAP_COURSE_DATA"
PRELOADED_VAR = "SHAP_COURSE_PRELOADED"

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Budget:
    """What one profile may spend. Notebooks read these numbers; they never test the profile.

    Attributes
    ----------
    name : str
        ``"fast"`` or ``"full"``.
    train_samples, test_samples : int or None
        How many training / test images a chapter uses (``None``: the whole split).
    epochs : int
        Training epochs for the chapter's model.
    batch_size : int
        Mini-batch size for training and batched prediction.
    background_size : int
        Background (reference) images given to an explainer.
    background_sizes : tuple of int
        Sizes compared in "does the background matter?" experiments (ascending).
    nsamples : int
        Samples per explained image for sampling explainers (GradientExplainer, Kernel).
    max_evals : int
        Model evaluations per image for masking explainers (Partition, Exact).
    image_size : int
        Side length of the ImageNet-like photos fed to large models.
    photos : int
        Photos explained with a large ImageNet network (VGG19, ResNet18).
    photo_background : int
        Background photos for a large network's explainer.
    photo_nsamples : int
        GradientExplainer samples per photo and explained output on a large network, where one
        sample is a forward and backward pass through most of the network.
    gradient_batch : int
        GradientExplainer's ``batch_size`` on a large network: the samples that go through the
        network (forward and backward) at once. It bounds memory and leaves the values unchanged.
    resnet_image_size : int
        Side length the 28x28 Fashion-MNIST images are resized to for ResNet18.
    resnet_per_class : int or None
        Training images per class for the ResNet18 chapter (``None``: all).
    resnet_epochs : int
        Training epochs for ResNet18.
    trust_images : int
        Test images in the "can we trust the maps?" experiments (randomisation, deletion and
        insertion, decoy).
    memorize_samples : int
        Training images with shuffled labels that a model memorises (the permuted-label
        sanity check).
    memorize_epochs : int
        Epochs for that memorisation.
    superpixels : int
        The most SLIC regions a photo is cut into for exact Shapley values by enumeration,
        which costs ``2**superpixels`` model calls per fill image (chapter 6).
    lite_image_size : int
        Side length of the photos explained with EfficientNet-Lite0 (chapter 6; its
        classification check always uses 224).
    lite_background : int
        Background photos in each of chapter 6's disjoint background sets.
    lite_max_evals : int
        Model calls per photo for the Partition explainer with an image masker (chapter 6).
    min_accuracy : dict
        The test accuracy each trained model must reach under this budget, by model:
        ``"mnist_cnn"`` (chapters 1 and 5), ``"fashion_cnn"`` (chapter 2), ``"resnet18"``
        (chapter 4). A chapter asserts it; a lower accuracy means its maps explain a model
        that did not learn the task.
    peak_memory_gib : float
        The most memory a chapter's process may ever hold under this profile, in GiB; each
        chapter checks it at its end (``measure.check_peak_memory``).
    """

    name: str
    train_samples: int | None
    test_samples: int | None
    epochs: int
    batch_size: int
    background_size: int
    background_sizes: tuple[int, ...]
    nsamples: int
    max_evals: int
    image_size: int
    photos: int
    photo_background: int
    photo_nsamples: int
    gradient_batch: int
    resnet_image_size: int
    resnet_per_class: int | None
    resnet_epochs: int
    trust_images: int
    memorize_samples: int
    memorize_epochs: int
    superpixels: int
    lite_image_size: int
    lite_background: int
    lite_max_evals: int
    min_accuracy: dict[str, float]
    peak_memory_gib: float

    def as_dict(self) -> dict:
        """Return the budget as a plain dictionary (for printing or logging)."""
        return asdict(self)


PROFILES: dict[str, Budget] = {
    "fast": Budget(
        name="fast",
        train_samples=20_000,
        test_samples=2_000,
        epochs=3,
        batch_size=64,
        background_size=100,
        background_sizes=(10, 50, 100),
        nsamples=50,
        max_evals=500,
        image_size=224,
        photos=2,
        photo_background=8,
        photo_nsamples=8,
        gradient_batch=2,
        resnet_image_size=32,
        resnet_per_class=600,
        resnet_epochs=3,
        trust_images=16,
        memorize_samples=2_000,
        memorize_epochs=30,
        superpixels=8,
        lite_image_size=160,
        lite_background=2,
        lite_max_evals=300,
        min_accuracy={"mnist_cnn": 0.96, "fashion_cnn": 0.85, "resnet18": 0.75},
        peak_memory_gib=4.0,
    ),
    "full": Budget(
        name="full",
        train_samples=None,
        test_samples=None,
        epochs=6,
        batch_size=64,
        background_size=200,
        background_sizes=(10, 100, 1000),
        nsamples=200,
        max_evals=2_000,
        image_size=224,
        photos=4,
        photo_background=32,
        photo_nsamples=50,
        gradient_batch=8,
        resnet_image_size=64,
        resnet_per_class=1500,
        resnet_epochs=4,
        trust_images=64,
        memorize_samples=5_000,
        memorize_epochs=60,
        superpixels=10,
        lite_image_size=224,
        lite_background=3,
        lite_max_evals=1000,
        min_accuracy={"mnist_cnn": 0.985, "fashion_cnn": 0.90, "resnet18": 0.88},
        peak_memory_gib=10.0,
    ),
}
DEFAULT_PROFILE = "full"


def active_profile(env: Mapping[str, str] | None = None) -> str:
    """Name of the profile chosen by ``SHAP_COURSE_PROFILE`` (default ``full``).

    Parameters
    ----------
    env : mapping, optional
        Where to read the variable (default: ``os.environ``).

    Raises
    ------
    ValueError
        If the variable holds anything but a known profile name.
    """
    env = os.environ if env is None else env
    name = env.get(PROFILE_VAR, DEFAULT_PROFILE).strip().lower() or DEFAULT_PROFILE
    if name not in PROFILES:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"{PROFILE_VAR}={name!r} is not a profile; use one of: {known}.")
    return name


# The choices of the profile field in the Colab cell that tools/pairing.py writes
COLAB_FORM_CHOICES = ("auto", "fast", "full")


def choose_profile(
    form_value: str, in_colab: bool, has_gpu: bool, env: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """The profile a notebook's Colab form chooses, and a one-line reason to print.

    In Colab the form rules: ``"fast"`` or ``"full"`` as picked, and ``"auto"`` (the form's
    default) is ``full`` on a runtime with a GPU and ``fast`` without one. Outside Colab the
    form is ignored and ``SHAP_COURSE_PROFILE`` in ``env`` rules, as everywhere
    (:func:`active_profile`).

    Parameters
    ----------
    form_value : str
        One of :data:`COLAB_FORM_CHOICES`.
    in_colab : bool
        Whether the notebook runs in Google Colab.
    has_gpu : bool
        Whether the runtime has a CUDA GPU.
    env : mapping, optional
        The environment read outside Colab (default: ``os.environ``).

    Returns
    -------
    (str, str)
        The profile name and the reason, e.g. ``("fast", "profile fast: ...")``.

    Raises
    ------
    ValueError
        If ``form_value`` is not a choice of the form.
    """
    value = str(form_value).strip().lower()
    if value not in COLAB_FORM_CHOICES:
        choices = ", ".join(COLAB_FORM_CHOICES)
        raise ValueError(
            f"PROFILE={form_value!r} is not a choice of the form; use one of: {choices}."
        )
    if not in_colab:
        name = active_profile(env)
        return name, f"profile {name}: not in Colab, so {PROFILE_VAR} decides (the form is ignored)"
    if value != "auto":
        return value, f"profile {value}: picked in the form"
    name = "full" if has_gpu else "fast"
    found = "a GPU" if has_gpu else "no GPU"
    return name, f"profile {name}: the form says auto and this runtime has {found}"


def budget(profile: str | None = None) -> Budget:
    """Return the frozen :class:`Budget` of ``profile`` (default: the active profile)."""
    name = active_profile() if profile is None else profile
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; use one of: {', '.join(sorted(PROFILES))}.")
    return PROFILES[name]


def offline() -> bool:
    """True when ``SHAP_COURSE_OFFLINE`` forbids downloads."""
    return os.environ.get(OFFLINE_VAR, "").strip().lower() in _TRUE


def data_dir() -> Path:
    """The writable cache folder (``SHAP_COURSE_DATA``, else ``$XDG_CACHE_HOME/shap-course``)."""
    configured = os.environ.get(DATA_VAR, "").strip()
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache"
    return Path(base) / "shap-course"


def preloaded_dirs() -> list[Path]:
    """Read-only folders from ``SHAP_COURSE_PRELOADED``, in the order they are searched."""
    raw = os.environ.get(PRELOADED_VAR, "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def start(seed: int, frameworks: tuple[str, ...] | None = None) -> Budget:
    """A chapter's first line: seed everything (:func:`seed_everything`), return the budget.

    Parameters
    ----------
    seed : int
    frameworks : tuple of str, optional
        As for :func:`seed_everything`.

    Returns
    -------
    Budget
        The active profile's budget (:func:`budget`).
    """
    seed_everything(seed, frameworks)
    return budget()


def seed_everything(seed: int, frameworks: tuple[str, ...] | None = None) -> None:
    """Seed Python, NumPy and the deep-learning frameworks.

    Parameters
    ----------
    seed : int
        The seed, passed explicitly by the caller.
    frameworks : tuple of str, optional
        Any of ``"torch"``, ``"tensorflow"``. Default: those already imported, so seeding never
        pays for importing a framework the notebook does not use.
    """
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - shap and Keras draw from the global generator
    if frameworks is None:
        frameworks = tuple(f for f in ("torch", "tensorflow") if f in sys.modules)
    unknown = set(frameworks) - {"torch", "tensorflow"}
    if unknown:
        raise ValueError(f"cannot seed {sorted(unknown)}; known: 'torch', 'tensorflow'.")
    if "torch" in frameworks:
        import torch

        torch.manual_seed(seed)
    if "tensorflow" in frameworks:
        import tensorflow as tf

        tf.random.set_seed(seed)


def device():
    """The ``torch.device`` to compute on: CUDA when a GPU is visible, else the CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
