"""PyTorch models shared by several chapters.

:class:`MnistCNN` is chapter 1's network, written the way ``shap.DeepExplainer`` and Captum's
DeepLIFT need it: every nonlinearity is its own ``nn.Module``, used once, never in place.
Chapter 5 trains it again (on real, permuted and "decoy" labels) to test the explainers.
:func:`efficientnet_lite_sequential` writes chapter 6's pretrained EfficientNet-Lite0 as one
``nn.Sequential`` on RGB images in [0, 1], so that it can be split at a layer.
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
    """A small CNN for 28x28 grey images: ``(N, 1, 28, 28)`` in, logits out.

    The logits have shape ``(N, n_classes)``. Chapter 1 prints this class, so
    its lines keep to the book's 79 columns.

    Parameters
    ----------
    n_classes : int, default 10
        Number of outputs.

    Notes
    -----
    ``features`` holds three convolutions (16, 32, 64 channels; 28 -> 14 -> 7
    pixels), then averages 7x7 into 3x3 regions; ``classifier`` is one linear
    layer on those 576 numbers.
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


class Rescale(nn.Module):
    """``(x - shift) / scale``: a network's input normalisation as its first module.

    Parameters
    ----------
    shift, scale : float
        Applied to every channel of ``(N, C, H, W)`` inputs.
    """

    def __init__(self, shift: float, scale: float):
        super().__init__()
        self.shift, self.scale = float(shift), float(scale)

    def forward(self, x_nchw):
        return (x_nchw - self.shift) / self.scale

    def extra_repr(self) -> str:
        return f"shift={self.shift:.4f}, scale={self.scale:.4f}"


#: The TensorFlow EfficientNet-Lite models read pixels in [0, 255] as ``(x - 127) / 128``
#: (``MEAN_RGB``/``STDDEV_RGB`` of ``efficientnet/lite/efficientnet_lite_builder.py`` in
#: tensorflow/tpu); on images in [0, 1] that is a shift of 127/255 and a scale of 128/255.
LITE_SHIFT, LITE_SCALE = 127 / 255, 128 / 255


def efficientnet_lite_sequential(net) -> nn.Sequential:
    """An ``efficientnet_lite_pytorch.EfficientNet`` as one ``nn.Sequential``, for evaluation.

    The modules are the network's own (no copy of the weights), in the order of
    ``EfficientNet.forward`` (``efficientnet_lite_pytorch/model.py``): the Lite input scaling,
    the stem, the MBConv blocks, the head convolution, pooling and the linear classifier. Each
    ReLU6 between them is a module of its own. Drop-connect acts only in training, so the
    sequence computes the network's function in eval mode only.

    Parameters
    ----------
    net : efficientnet_lite_pytorch.EfficientNet
        With ``local_pooling`` off (EfficientNet-Lite0).

    Returns
    -------
    nn.Sequential
        ``(N, 3, H, W)`` RGB in [0, 1] -> ``(N, 1000)`` logits; ``seq[4:4 + len(blocks)]`` are the
        blocks, so ``seq[4 + k]`` is ``net._blocks[k]``.
    """
    if getattr(net._global_params, "local_pooling", False):
        raise ValueError("efficientnet_lite_sequential needs a network without local_pooling.")
    return nn.Sequential(
        Rescale(LITE_SHIFT, LITE_SCALE),
        net._conv_stem,
        net._bn0,
        nn.ReLU6(),
        *net._blocks,
        net._conv_head,
        net._bn1,
        nn.ReLU6(),
        net._avg_pooling,
        nn.Flatten(1),
        net._dropout,
        net._fc,
    )
