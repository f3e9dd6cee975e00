"""Small training loops: PyTorch with progress bars, and a thin Keras equivalent.

Both return a :class:`History` with the same fields, so chapters plot them the same way
(:func:`helpers.plotting.plot_history`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class History:
    """Per-epoch metrics; accuracies are fractions in [0, 1]."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def __str__(self) -> str:
        if not self.train_loss:
            return "History(no epochs)"
        return (
            f"{len(self.train_loss)} epochs in {self.seconds:.1f} s; last epoch:\n"
            f"  train loss {self.train_loss[-1]:.4f}, acc {self.train_acc[-1]:.2%} | "
            f"val loss {self.val_loss[-1]:.4f}, acc {self.val_acc[-1]:.2%}"
        )


def _loader(x, y, batch_size: int, shuffle: bool, seed: int):
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle, generator=generator
    )


def predict_torch(model, x, batch_size: int = 256, device=None) -> np.ndarray:
    """Model outputs for ``x`` (a tensor ``(N, ...)``) in eval mode, as a NumPy array ``(N, C)``."""
    import torch

    device = device or next(model.parameters()).device
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            outputs.append(model(x[start : start + batch_size].to(device)).cpu())
    return torch.cat(outputs).numpy()


def evaluate_torch(
    model, x, y, batch_size: int = 256, device=None, verbose: bool = False
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of a classifier that outputs logits.

    With ``verbose``, also print them: ``test accuracy: 98.10% on 2,000 test images (loss ...)``.
    """
    import torch

    logits = torch.from_numpy(predict_torch(model, x, batch_size, device))
    loss = torch.nn.functional.cross_entropy(logits, y.cpu()).item()
    acc = (logits.argmax(dim=1) == y.cpu()).float().mean().item()
    if verbose:
        print(f"test accuracy: {acc:.2%} on {len(y):,} test images (loss {loss:.3f})")
    return loss, acc


def train_torch(
    model,
    train_data,
    val_data,
    epochs: int,
    batch_size: int,
    seed: int,
    lr: float = 1e-3,
    device=None,
    progress: bool = True,
    on_epoch_end=None,
) -> History:
    """Train a logits classifier with Adam and cross-entropy.

    Parameters
    ----------
    model : torch.nn.Module
        Outputs logits ``(N, C)``; moved to ``device``.
    train_data, val_data : tuple of (Tensor (N, ...), Tensor (N,) int64)
    epochs, batch_size : int
    seed : int
        Seeds the shuffling order.
    lr : float
        Adam learning rate.
    device : torch.device, optional
        Default :func:`helpers.config.device`.
    progress : bool
        Show a tqdm progress bar per epoch.
    on_epoch_end : callable, optional
        ``on_epoch_end(epoch, model)`` after each epoch (1-based), e.g. to keep a checkpoint.

    Returns
    -------
    History
    """
    import torch
    from tqdm.auto import tqdm

    from .config import device as default_device

    device = device or default_device()
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    history = History()
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        seen, total_loss, correct = 0, 0.0, 0
        batches = _loader(*train_data, batch_size, True, seed + epoch)
        for xb, yb in tqdm(batches, desc=f"epoch {epoch}/{epochs}", disable=not progress):
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            optimizer.step()
            seen += len(yb)
            total_loss += loss.item() * len(yb)
            correct += (logits.argmax(dim=1) == yb).sum().item()
        history.train_loss.append(total_loss / seen)
        history.train_acc.append(correct / seen)
        val_loss, val_acc = evaluate_torch(model, *val_data, device=device)
        history.val_loss.append(val_loss)
        history.val_acc.append(val_acc)
        if on_epoch_end is not None:
            on_epoch_end(epoch, model)
    history.seconds = time.perf_counter() - start
    return history


def train_keras(
    model, train_data, val_data, epochs: int, batch_size: int, seed: int, verbose: int = 0
) -> History:
    """Fit a compiled Keras classifier (with an ``accuracy`` metric); same History as PyTorch.

    Parameters
    ----------
    model : keras.Model
        Compiled with ``metrics=["accuracy"]``.
    train_data, val_data : tuple of (ndarray (N, H, W, C), ndarray (N,))
    epochs, batch_size : int
    seed : int
        Seeds Keras (Python, NumPy and backend generators).
    verbose : int
        Keras verbosity; 0 by default: the returned History prints a summary line and
        :func:`helpers.plotting.plot_history` draws every epoch, while Keras's own lines
        carry timings that change from run to run (2: one line per epoch).
    """
    import keras

    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    fitted = model.fit(
        *train_data,
        validation_data=val_data,
        epochs=epochs,
        batch_size=batch_size,
        verbose=verbose,
    )
    logs = fitted.history
    return History(
        train_loss=[float(v) for v in logs["loss"]],
        train_acc=[float(v) for v in logs["accuracy"]],
        val_loss=[float(v) for v in logs["val_loss"]],
        val_acc=[float(v) for v in logs["val_accuracy"]],
        seconds=time.perf_counter() - start,
    )


def freeze(model, prefixes) -> int:
    """Stop training the parameters whose names start with one of ``prefixes``.

    Only the gradient updates stop. A batch-norm layer among them still updates its running
    mean and variance whenever the model runs in training mode (``model.train()``, which
    :func:`train_torch` calls every epoch); put those layers in eval mode to keep them fixed.

    Parameters
    ----------
    model : torch.nn.Module
    prefixes : sequence of str
        E.g. ``("conv1", "bn1", "layer1")`` for the stem and first stage of a ResNet.

    Returns
    -------
    int
        Number of parameters (scalars) frozen.

    Raises
    ------
    ValueError
        If a prefix matches no parameter (a typo would otherwise freeze nothing silently).
    """
    frozen = 0
    for prefix in prefixes:
        matched = [(n, p) for n, p in model.named_parameters() if n.startswith(prefix + ".")]
        if not matched:
            raise ValueError(f"no parameter of the model starts with {prefix!r}.")
        for _, param in matched:
            param.requires_grad_(False)
            frozen += param.numel()
    return frozen
