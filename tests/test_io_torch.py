"""relutope.io.torch.from_torch: every supported layer kind against torch's own forward (float64, 1e-9)."""
import re
import warnings
import zlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from relutope import Network  # noqa: E402
from relutope.errors import ModelFormatError, RelutopeError  # noqa: E402
from relutope.io.torch import Residual, from_torch  # noqa: E402

N = 1000


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # the machine is shared: torch's intra-op threads only add contention for these tiny models
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _randomize_bn(bn):
    with torch.no_grad():
        bn.running_mean.normal_(0.0, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        if bn.weight is not None:
            bn.weight.normal_(1.0, 0.3)
            bn.bias.normal_(0.0, 0.3)
    return bn


class DeclaredBlock(nn.Module):
    """A user-defined residual block declared through the class attribute."""

    relutope_residual = True

    def __init__(self, d):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))
        self.shortcut = nn.Linear(d, d, bias=False)

    def forward(self, x):
        return self.shortcut(x) + self.body(x)


# (id, factory, input_shape, input scale)
CASES = [
    ("linear", lambda: nn.Sequential(nn.Linear(7, 5)), (7,), 1.0),
    ("linear_nobias_3d", lambda: nn.Sequential(nn.Linear(4, 3, bias=False)), (2, 4), 1.0),
    ("relu", lambda: nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2)), (6,), 1.0),
    ("leaky_relu", lambda: nn.Sequential(nn.Linear(6, 8), nn.LeakyReLU(0.1), nn.Linear(8, 2)), (6,), 1.0),
    ("leaky_relu_steep", lambda: nn.Sequential(nn.Linear(6, 8), nn.LeakyReLU(2.5), nn.Linear(8, 2)), (6,), 1.0),
    ("leaky_relu_negative", lambda: nn.Sequential(nn.Linear(6, 8), nn.LeakyReLU(-0.5)), (6,), 1.0),
    ("hardtanh", lambda: nn.Sequential(nn.Linear(6, 8), nn.Hardtanh(), nn.Linear(8, 2)), (6,), 3.0),
    ("hardtanh_custom", lambda: nn.Sequential(nn.Hardtanh(-0.5, 2.0)), (6,), 3.0),
    ("relu6", lambda: nn.Sequential(nn.Linear(6, 8), nn.ReLU6()), (6,), 10.0),
    ("identity_dropout", lambda: nn.Sequential(nn.Linear(5, 5), nn.Identity(), nn.Dropout(0.5), nn.ReLU(),
                                               nn.Dropout1d(0.3), nn.Linear(5, 3)), (5,), 1.0),
    ("dropout2d", lambda: nn.Sequential(nn.Conv2d(2, 3, 3), nn.Dropout2d(0.4), nn.ReLU()), (2, 5, 5), 1.0),
    ("flatten", lambda: nn.Sequential(nn.Flatten(), nn.Linear(24, 3)), (2, 3, 4), 1.0),
    ("flatten_partial", lambda: nn.Sequential(nn.Flatten(2, 3), nn.Linear(12, 3)), (2, 3, 4), 1.0),
    ("conv1d", lambda: nn.Sequential(nn.Conv1d(3, 4, 3, stride=2, padding=2, dilation=2), nn.ReLU()), (3, 11), 1.0),
    ("conv1d_groups", lambda: nn.Sequential(nn.Conv1d(4, 6, 2, groups=2, bias=False)), (4, 7), 1.0),
    ("conv2d", lambda: nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 3, 2)),
     (2, 6, 5), 1.0),
    ("conv2d_options", lambda: nn.Sequential(nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2),
                                                       dilation=(1, 2), groups=2)), (4, 7, 6), 1.0),
    ("conv2d_same", lambda: nn.Sequential(nn.Conv2d(2, 3, (4, 3), padding="same", dilation=(1, 2))), (2, 6, 7), 1.0),
    ("conv2d_valid", lambda: nn.Sequential(nn.Conv2d(2, 3, 2, padding="valid", bias=False)), (2, 4, 5), 1.0),
    ("batchnorm1d", lambda: nn.Sequential(nn.Linear(5, 6), _randomize_bn(nn.BatchNorm1d(6)), nn.ReLU()), (5,), 1.0),
    ("batchnorm1d_3d", lambda: nn.Sequential(_randomize_bn(nn.BatchNorm1d(3)), nn.ReLU()), (3, 4), 1.0),
    ("batchnorm1d_noaffine", lambda: nn.Sequential(_randomize_bn(nn.BatchNorm1d(4, affine=False))), (4,), 1.0),
    ("batchnorm2d", lambda: nn.Sequential(nn.Conv2d(2, 3, 3), _randomize_bn(nn.BatchNorm2d(3)), nn.ReLU()),
     (2, 5, 5), 1.0),
    ("avgpool1d", lambda: nn.Sequential(nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True)), (2, 8), 1.0),
    ("avgpool1d_nopad_count", lambda: nn.Sequential(nn.AvgPool1d(2, padding=1, count_include_pad=False)),
     (2, 7), 1.0),
    ("avgpool2d", lambda: nn.Sequential(nn.Conv2d(1, 2, 2), nn.ReLU(), nn.AvgPool2d(2)), (1, 7, 7), 1.0),
    ("avgpool2d_options", lambda: nn.Sequential(nn.AvgPool2d((3, 2), stride=(2, 1), padding=(1, 1), ceil_mode=True,
                                                             count_include_pad=False)), (2, 7, 6), 1.0),
    ("avgpool2d_divisor", lambda: nn.Sequential(nn.AvgPool2d(2, divisor_override=3)), (2, 4, 4), 1.0),
    ("maxpool1d", lambda: nn.Sequential(nn.MaxPool1d(3, stride=2, padding=1, dilation=2, ceil_mode=True)),
     (2, 9), 1.0),
    ("maxpool2d", lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2)), (1, 8, 8), 1.0),
    ("maxpool2d_options", lambda: nn.Sequential(nn.MaxPool2d((3, 2), stride=(2, 1), padding=(1, 1), dilation=(1, 2),
                                                             ceil_mode=True)), (2, 7, 6), 1.0),
    ("residual", lambda: nn.Sequential(nn.Linear(4, 6), nn.ReLU(),
                                       Residual(nn.Sequential(nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 6))),
                                       nn.ReLU(), nn.Linear(6, 2)), (4,), 1.0),
    ("residual_shortcut_conv", lambda: nn.Sequential(
        Residual(nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, stride=2, padding=1)),
                 shortcut=nn.Sequential(nn.Conv2d(2, 4, 1, stride=2), _randomize_bn(nn.BatchNorm2d(4)))),
        nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 2 * 2, 3)), (2, 8, 8), 1.0),
    ("residual_declared", lambda: nn.Sequential(DeclaredBlock(5), nn.Hardtanh()), (5,), 1.0),
    ("nested", lambda: nn.Sequential(nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.ReLU())),
                                     nn.Sequential(nn.Linear(4, 2))), (3,), 1.0),
    ("bare_layer", lambda: nn.Linear(3, 2), (3,), 1.0),
]


def _compare(model, shape, scale, seed=0):
    model = model.double().eval()
    net = from_torch(model, shape)
    assert isinstance(net, Network)
    assert net.in_dim == int(np.prod(shape))
    x = np.random.default_rng(seed).normal(0.0, scale, (N,) + tuple(shape))
    with torch.no_grad(), warnings.catch_warnings():
        # torch notes that padding="same" with an even kernel copies the input; irrelevant here
        warnings.filterwarnings("ignore", message="Using padding='same'", category=UserWarning)
        ref = model(torch.from_numpy(x)).numpy().reshape(N, -1)
    out = net(x.reshape(N, -1))
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-9, atol=1e-9 * max(1.0, np.abs(ref).max()))
    return net, x


@pytest.mark.parametrize("name,factory,shape,scale", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(name, factory, shape, scale):
    torch.manual_seed(zlib.crc32(name.encode()))
    _compare(factory(), shape, scale)


def test_nonlinearities_are_exercised():
    # guard against vacuous comparisons: the sampled inputs cross the kinks of every unit kind used above
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(6, 8), nn.Hardtanh()).double()
    net, x = _compare(model, (6,), 3.0)
    _, pats = net.forward(x.reshape(N, -1))
    # hardtanh = relu(z + 1) - relu(z - 1) - 1: both ReLUs of every element are active and inactive somewhere
    assert net.layers[0].n_units == 16 and set(np.unique(net.layers[0].n_pieces)) == {2}
    assert np.all(pats[:, :16].min(axis=0) == 0) and np.all(pats[:, :16].max(axis=0) == 1)


def test_structure_maxpool_units_have_kernel_pieces():
    net = from_torch(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2)).double(), (1, 6, 6))
    assert [layer.n_units for layer in net.layers] == [2 * 4 * 4, 2 * 2 * 2]
    assert np.all(net.layers[1].n_pieces == 4)


def test_structure_residual_carries_identity_units():
    body = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 3))
    net = from_torch(nn.Sequential(Residual(body), nn.ReLU()).double(), (3,))
    first = net.layers[0]
    # 5 ReLU units, then the 3-dim block input carried by identity units (K = 1)
    assert first.n_units == 8
    assert first.n_pieces.tolist() == [2] * 5 + [1] * 3
    assert net.widths == [3, 8, 3]


def test_training_mode_is_lowered_as_eval():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 6), nn.Dropout(0.5), _randomize_bn(nn.BatchNorm1d(6)), nn.ReLU()).double()
    model.train()
    net = from_torch(model, (4,))
    assert model.training  # from_torch does not change the module's mode
    x = np.random.default_rng(0).normal(size=(N, 4))
    with torch.no_grad():
        ref = model.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net(x), ref, rtol=1e-9, atol=1e-12)


def test_float32_module_is_converted():
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 2))  # float32
    net = from_torch(model, 5)
    x = np.random.default_rng(0).normal(size=(N, 5))
    with torch.no_grad():
        ref = model.double()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net(x), ref, rtol=1e-9, atol=1e-12)


def test_residual_class_is_lazy_and_picklable_name():
    assert Residual.__module__ == "relutope.io.torch" and Residual.__qualname__ == "Residual"
    block = Residual(nn.Identity())
    assert torch.equal(block(torch.ones(2)), 2 * torch.ones(2))


# ---------------------------------------------------------------------------------------------- errors
class Custom(nn.Module):
    def forward(self, x):
        return x * 2


class MySeq(nn.Sequential):
    def forward(self, x):
        return super().forward(x) * 2


def test_custom_module_in_sequential():
    with pytest.raises(TypeError, match=r"module '1' \(Custom\) is not supported"):
        from_torch(nn.Sequential(nn.Linear(3, 3), Custom()), (3,))


def test_custom_module_at_root():
    with pytest.raises(TypeError, match=r"module '<root>' \(Custom\) is not supported"):
        from_torch(Custom(), (3,))


def test_nested_custom_module_named_by_path():
    with pytest.raises(TypeError, match=re.escape("module '0.body.1' (Custom) is not supported")):
        from_torch(nn.Sequential(Residual(nn.Sequential(nn.Linear(3, 3), Custom()))), (3,))


def test_sequential_with_overridden_forward():
    with pytest.raises(TypeError, match=r"module '<root>' \(MySeq\) overrides nn.Sequential.forward"):
        from_torch(MySeq(nn.Linear(3, 3)), (3,))


def test_layer_subclass_with_overridden_forward():
    class MyReLU(nn.ReLU):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match=r"module '0' \(MyReLU\) overrides ReLU.forward"):
        from_torch(nn.Sequential(MyReLU()), (3,))


def test_not_a_module():
    with pytest.raises(TypeError, match="needs a torch.nn.Module, got function"):
        from_torch(lambda x: x, (3,))


def test_declared_residual_without_body():
    class Bad(nn.Module):
        relutope_residual = True

        def forward(self, x):
            return x

    with pytest.raises(TypeError, match=r"module '<root>' \(Bad\) declares relutope_residual but its 'body'"):
        from_torch(Bad(), (3,))


def test_linear_shape_mismatch():
    with pytest.raises(ModelFormatError, match=r"module '1' \(Linear\): weight of shape \(2, 5\) takes vectors of "
                                               r"length 5 .* input has shape \(4,\)") as info:
        from_torch(nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 2)), (3,))
    assert isinstance(info.value, ValueError) and isinstance(info.value, RelutopeError)


def test_conv_needs_spatial_input():
    with pytest.raises(ModelFormatError, match=r"module '0' \(Conv2d\): needs an input of shape \(C, \*spatial\)"):
        from_torch(nn.Sequential(nn.Conv2d(1, 2, 3)), (9,))


def test_conv_channel_mismatch():
    with pytest.raises(ModelFormatError, match=r"module '0' \(Conv2d\).*does not fit an input with 2 channels"):
        from_torch(nn.Sequential(nn.Conv2d(3, 2, 3)), (2, 5, 5))


def test_residual_shape_mismatch():
    with pytest.raises(ModelFormatError, match=r"module '0' \(Residual\): the shortcut gives shape \(4,\) but the "
                                               r"body gives \(3,\)"):
        from_torch(nn.Sequential(Residual(nn.Linear(4, 3))), (4,))


def test_batchnorm_without_running_stats():
    with pytest.raises(ModelFormatError, match="running statistics"):
        from_torch(nn.Sequential(nn.BatchNorm1d(3, track_running_stats=False)), (3,))


def test_batchnorm_channel_mismatch():
    with pytest.raises(ModelFormatError, match=r"module '0' \(BatchNorm1d\): mean has 3 entries but .* 4 channels"):
        from_torch(nn.Sequential(nn.BatchNorm1d(3)), (4,))


def test_padding_mode_rejected():
    with pytest.raises(ModelFormatError, match=r"padding_mode='reflect' is not supported"):
        from_torch(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect")), (1, 5, 5))


def test_maxpool_return_indices_rejected():
    with pytest.raises(ModelFormatError, match="return_indices=True is not supported"):
        from_torch(nn.Sequential(nn.MaxPool1d(2, return_indices=True)), (1, 4))


def test_flatten_batch_rejected():
    with pytest.raises(ModelFormatError, match="start_dim=0 would merge the batch axis"):
        from_torch(nn.Sequential(nn.Flatten(0)), (2, 3))


def test_maxpool_window_too_large():
    with pytest.raises(ModelFormatError, match="exceeds the limit of 127 pieces"):
        from_torch(nn.Sequential(nn.MaxPool2d(12)), (1, 12, 12))


def test_bad_input_shape():
    with pytest.raises(ModelFormatError, match="input shape must have positive entries"):
        from_torch(nn.Sequential(nn.ReLU()), (3, 0))
