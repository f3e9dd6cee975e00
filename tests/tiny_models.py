"""Tiny PyTorch CNNs shared by the tests: one DeepExplainer handles, and its broken twins."""

import torch
from torch import nn
from torch.nn import functional as F


class TinyCNN(nn.Module):
    """Conv -> MaxPool -> BatchNorm -> ReLU -> Conv -> ReLU -> AdaptiveAvgPool -> Linear."""

    def __init__(self, n_classes: int = 3):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.MaxPool2d(2),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.Conv2d(4, 6, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
        )
        self.head = nn.Linear(24, n_classes)

    def forward(self, x):
        return self.head(self.features(x))


class FunctionalReLUCNN(nn.Module):
    """The same computation with F.relu in forward: DeepExplainer cannot see the ReLUs."""

    def __init__(self, n_classes: int = 3):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1)
        self.avg = nn.AdaptiveAvgPool2d(2)
        self.head = nn.Linear(24, n_classes)

    def forward(self, x):
        x = F.relu(self.pool(self.conv1(x)))
        x = F.relu(self.conv2(x))
        return self.head(torch.flatten(self.avg(x), 1))


class ReusedReLUCNN(nn.Module):
    """One in-place nn.ReLU used twice, as in torchvision's ResNet blocks."""

    def __init__(self, n_classes: int = 3):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.gelu_like = nn.Hardswish()
        self.avg = nn.AdaptiveAvgPool2d(2)
        self.head = nn.Linear(24, n_classes)

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.gelu_like(self.relu(self.conv2(x)))
        return self.head(torch.flatten(self.avg(x), 1))


def trained_weights(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give a model non-trivial BatchNorm statistics and weights, deterministically."""
    torch.manual_seed(seed)
    for p in model.parameters():
        nn.init.normal_(p, std=0.5)
    model.train()
    with torch.no_grad():
        model(torch.rand(32, 1, 8, 8))
    return model.eval()
