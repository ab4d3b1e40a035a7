"""Matched filters (relutope.matched_filters) against finite differences and forward passes."""
import numpy as np
import pytest

import relutope
from relutope.matched_filters import MatchedFilters, matched_filters, plot_matched_filters


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_templates_are_the_jacobian_and_scores_the_outputs(scale):
    net = relutope.Network.random([6, 12, 12, 4], seed=0)
    x = (np.random.default_rng(1).normal(size=(9, 6)) + 3.0) * scale
    # the same network in scaled coordinates: f_s(x) = f(x / scale), so templates scale by 1 / scale
    net_s = relutope.Network([relutope.Layer(net.layers[0].A / scale, net.layers[0].c, net.layers[0].n_pieces),
                              *net.layers[1:]])
    mf = matched_filters(net_s, x)
    assert mf.templates.shape == (9, 4, 6) and mf.offsets.shape == (9, 4)
    y = net_s(x)
    np.testing.assert_allclose(mf.scores, y, rtol=1e-10, atol=1e-10 * np.abs(y).max())
    h = 1e-6 * scale  # central differences; exact on a region when x +- h stays inside it
    for i in range(9):
        J = np.stack([(net_s(x[i] + h * e) - net_s(x[i] - h * e))[0] / (2 * h) for e in np.eye(6)], axis=1)
        np.testing.assert_allclose(mf.templates[i], J, rtol=1e-6, atol=1e-6 * np.abs(J).max())
    np.testing.assert_array_equal(mf.patterns, net_s.activation_pattern(x))
    c = mf.correlations
    assert c.shape == (9, 4) and np.all(np.abs(c) <= 1 + 1e-12)


def test_plot_one_panel_per_class():
    pytest.importorskip("matplotlib")
    net = relutope.Network.random([12, 8, 3], seed=2)
    mf = matched_filters(net, np.random.default_rng(3).normal(size=(4, 12)))
    images = plot_matched_filters(mf, (3, 4), inputs=[0, 2])
    assert images.shape == (2, 4)
    np.testing.assert_array_equal(images[1, 2].get_array(), mf.templates[2, 1].reshape(3, 4))
    np.testing.assert_array_equal(images[0, 0].get_array(), mf.points[0].reshape(3, 4))
    assert len(images[0, 0].figure.axes) == 8
    assert plot_matched_filters(mf, (2, 2, 3), show_input=False).shape == (1, 3)
    with pytest.raises(ValueError, match="image_shape"):
        plot_matched_filters(mf, (5, 5))
    with pytest.raises(ValueError, match="inputs"):
        plot_matched_filters(mf, (3, 4), inputs=[4])
    with pytest.raises(ValueError, match="class_names"):
        plot_matched_filters(mf, (3, 4), class_names=["a"])
    with pytest.raises(TypeError, match="filters"):
        plot_matched_filters(mf.templates, (3, 4))
    with pytest.raises(TypeError, match="network"):
        matched_filters("net", np.zeros((1, 12)))
    assert isinstance(mf, MatchedFilters) and len(mf) == 4
