"""Small PyTorch models shared by several chapters.

:class:`MnistCNN` is chapter 1's network, written the way ``shap.DeepExplainer`` and Captum's
DeepLIFT need it: every nonlinearity is its own ``nn.Module``, used once, never in place.
Chapter 5 trains it again (on real, permuted and "decoy" labels) to test the explainers.
"""

from __future__ import annotations

from torch import nn


def conv_block(c_in: int, c_out: int) -> list[nn.Module]:
    """Conv 3x3 -> MaxPool 2 -> BatchNorm -> ReLU, each a module of its own.

    Parameters
    ----------
    c_in, c_out : int
        Input and output channels.

    Returns
    -------
    list of nn.Module
        Four fresh modules; a spatial size ``s`` becomes ``s // 2``.
    """
    return [
        nn.Conv2d(c_in, c_out, 3, padding=1),
        nn.MaxPool2d(2),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
    ]


class MnistCNN(nn.Module):
    """A small CNN for 28x28 grey images: ``(N, 1, 28, 28)`` in, ``(N, n_classes)`` logits out.

    Parameters
    ----------
    n_classes : int, default 10
        Number of outputs.

    Notes
    -----
    ``features`` holds three convolutions (16, 32, 64 channels; 28 -> 14 -> 7 pixels), then
    averages 7x7 into 3x3 regions; ``classifier`` is one linear layer on those 576 numbers.
    """

    def __init__(self, n_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            *conv_block(1, 16),
            *conv_block(16, 32),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(3),
            nn.Flatten(),
        )
        self.classifier = nn.Linear(64 * 3 * 3, n_classes)

    def forward(self, x_nchw):
        return self.classifier(self.features(x_nchw))


def parameter_table(model: nn.Module) -> list[tuple[str, str, int]]:
    """``(name, type, parameters)`` for every leaf module of ``model``, in order."""
    return [
        (name, type(m).__name__, sum(p.numel() for p in m.parameters()))
        for name, m in model.named_modules()
        if not list(m.children())
    ]


class SelectOutput(nn.Module):
    """One output column of a model, as a model of its own: ``(N, ...)`` -> ``(N, 1)``.

    An explainer given ``SelectOutput(model, k)`` computes class ``k`` only, which is up to K
    times cheaper than explaining all outputs and picking one afterwards.

    Parameters
    ----------
    model : nn.Module
        Any model with outputs ``(N, K)``.
    index : int
        The output to keep, ``0 <= index < K``.
    """

    def __init__(self, model: nn.Module, index: int):
        super().__init__()
        self.model = model
        self.index = int(index)

    def forward(self, x):
        out = self.model(x)
        if not 0 <= self.index < out.shape[1]:
            raise IndexError(f"output {self.index} requested from a model with {out.shape[1]}.")
        return out[:, self.index : self.index + 1]


#: :class:`MnistCNN`'s parametrised blocks from the output towards the input, for
#: :func:`helpers.trust.cascading_randomization`: (block name, module names).
MNIST_CNN_BLOCKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("classifier", ("classifier",)),
    ("conv3", ("features.8", "features.9")),
    ("conv2", ("features.4", "features.6")),
    ("conv1", ("features.0", "features.2")),
)
