import numpy as np
import pytest
import torch
from torch import nn

from helpers import training


def _blobs(seed, n=256):
    """Two well-separated classes of 1x4x4 'images'."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 1, 4, 4, generator=g) * 0.3 + (y.float() * 2 - 1).view(-1, 1, 1, 1)
    return x, y


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 2))


def _train_on_blobs(model, epochs, batch_size=64, **options):
    return training.train_torch(
        model,
        _blobs(0),
        _blobs(1),
        epochs=epochs,
        batch_size=batch_size,
        seed=0,
        device=torch.device("cpu"),
        progress=False,
        **options,
    )


def test_evaluate_torch_prints_what_it_returns_when_verbose(capsys):
    model = _model()
    _train_on_blobs(model, epochs=2, batch_size=32, lr=1e-2)
    x, y = _blobs(2)
    loss, acc = training.evaluate_torch(model, x, y, verbose=True)
    out = capsys.readouterr().out
    assert out == f"test accuracy: {acc:.2%} on {len(y):,} test images (loss {loss:.3f})\n"
    training.evaluate_torch(model, x, y)
    assert capsys.readouterr().out == ""


def test_train_torch_learns_and_records_history():
    model = _model()
    history = _train_on_blobs(model, epochs=3, batch_size=32, lr=1e-2)
    assert len(history.train_loss) == len(history.val_acc) == 3
    assert history.val_acc[-1] > 0.95 and history.train_loss[-1] < history.train_loss[0]
    assert history.seconds > 0 and "3 epochs" in str(history)
    loss, acc = training.evaluate_torch(model, *_blobs(2))
    assert acc > 0.95 and loss < 0.5


def test_train_torch_is_reproducible():
    runs = []
    for _ in range(2):
        model = _model()
        training.train_torch(
            model, _blobs(0), _blobs(1), epochs=1, batch_size=32, seed=7, progress=False
        )
        runs.append(training.predict_torch(model, _blobs(2)[0]))
    assert np.array_equal(*runs)


def test_history_str_empty():
    assert str(training.History()) == "History(no epochs)"


def test_train_keras_returns_same_history_shape():
    import keras

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    x = (rng.normal(size=(200, 4, 4, 1)) * 0.3 + (y * 2 - 1)[:, None, None, None]).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((4, 4, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.05),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = training.train_keras(
        model, (x, y), (x, y), epochs=3, batch_size=32, seed=0, verbose=0
    )
    assert len(history.train_acc) == 3 and history.val_acc[-1] > 0.9
    assert all(isinstance(v, float) for v in history.val_loss)


def test_on_epoch_end_sees_each_epoch_and_can_keep_a_checkpoint():
    import copy

    model, kept = _model(), {}

    def keep(epoch, trained):
        kept[epoch] = copy.deepcopy(trained.state_dict())

    _train_on_blobs(model, epochs=2, on_epoch_end=keep)
    assert sorted(kept) == [1, 2]
    assert not torch.equal(kept[1]["1.weight"], kept[2]["1.weight"])
    assert torch.equal(kept[2]["1.weight"], model.state_dict()["1.weight"])


def test_freeze_stops_training_named_parameters():
    model = _model()
    before = model[1].weight.detach().clone()
    assert training.freeze(model, ["1"]) == 16 * 8 + 8
    _train_on_blobs(model, epochs=1)
    assert torch.equal(model[1].weight, before)
    assert model[3].weight.requires_grad
    with pytest.raises(ValueError, match="no parameter of the model starts with 'conv9'"):
        training.freeze(model, ["conv9"])


def test_freeze_leaves_batch_norm_statistics_updating_in_training_mode():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))
    training.freeze(model, ["1", "2"])
    weight, mean = model[2].weight.detach().clone(), model[2].running_mean.clone()
    _train_on_blobs(model, epochs=1)
    assert torch.equal(model[2].weight, weight)  # the parameters are frozen
    assert not torch.equal(model[2].running_mean, mean)  # the statistics are not
