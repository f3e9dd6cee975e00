import numpy as np
import pytest
import shap
import torch
from torch import nn

from helpers import explain, models


def test_mnist_cnn_shapes_and_parameter_table():
    torch.manual_seed(0)
    net = models.MnistCNN().eval()
    assert net(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    assert models.MnistCNN(n_classes=4)(torch.rand(2, 1, 28, 28)).shape == (2, 4)
    table = models.parameter_table(net)
    assert [row[1] for row in table][:4] == ["Conv2d", "MaxPool2d", "BatchNorm2d", "ReLU"]
    assert sum(row[2] for row in table) == sum(p.numel() for p in net.parameters())


def test_mnist_cnn_passes_the_deep_explainer_preflight():
    net = models.MnistCNN().eval()
    report = explain.preflight_deep_explainer(net, torch.rand(2, 1, 28, 28))
    assert report.ok, report
    relus = [m for m in net.modules() if isinstance(m, nn.ReLU)]
    assert len(relus) == 3 and not any(m.inplace for m in relus)


def test_conv_block_returns_fresh_modules():
    first, second = models.conv_block(1, 4), models.conv_block(1, 4)
    assert [type(m) for m in first] == [nn.Conv2d, nn.MaxPool2d, nn.BatchNorm2d, nn.ReLU]
    assert all(a is not b for a, b in zip(first, second, strict=True))


def test_blocks_name_existing_parametrised_modules_top_down():
    net = models.MnistCNN()
    named = dict(net.named_modules())
    assert models.MNIST_CNN_BLOCKS[0] == ("classifier", ("classifier",))
    for _, names in models.MNIST_CNN_BLOCKS:
        assert all(sum(p.numel() for p in named[n].parameters()) > 0 for n in names)
    convs = [names[0] for _, names in models.MNIST_CNN_BLOCKS[1:]]
    assert [type(named[n]) for n in convs] == [nn.Conv2d] * 3
    assert convs == sorted(convs, key=lambda n: -int(n.split(".")[1]))


def test_select_output_keeps_one_column_and_deep_explainer_adds_up():
    torch.manual_seed(0)
    net = models.MnistCNN().eval()
    x = torch.rand(4, 1, 28, 28)
    one = models.SelectOutput(net, 7).eval()
    with torch.no_grad():
        assert torch.equal(one(x), net(x)[:, 7:8])
    background = torch.rand(8, 1, 28, 28)
    explainer = shap.DeepExplainer(one, background)
    values = explainer.shap_values(x, check_additivity=False)
    assert values.shape == (4, 1, 28, 28, 1)
    with torch.no_grad():
        outputs = one(x).numpy()
    assert explain.check_additivity(values, explainer.expected_value, outputs).ok


def test_select_output_rejects_a_missing_output():
    with pytest.raises(IndexError, match="output 10"):
        models.SelectOutput(models.MnistCNN(), 10)(torch.rand(1, 1, 28, 28))


def test_efficientnet_lite_sequential_computes_the_networks_function():
    from efficientnet_lite_pytorch import EfficientNet

    torch.manual_seed(0)
    net = EfficientNet.from_name("efficientnet-lite0").eval()
    sequence = models.efficientnet_lite_sequential(net)
    x01 = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        expected = net((x01 * 255 - 127) / 128)  # the TF Lite input scaling
        np.testing.assert_allclose(sequence(x01), expected, rtol=1e-4, atol=1e-4)
    assert sequence[4] is net._blocks[0] and sequence[4 + 15] is net._blocks[15]
    assert "shift=0.4980" in repr(sequence[0])


def test_efficientnet_lite_sequential_refuses_local_pooling():
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name("efficientnet-lite0")
    net._global_params = net._global_params._replace(local_pooling=True)
    with pytest.raises(ValueError, match="local_pooling"):
        models.efficientnet_lite_sequential(net)
