"""The built-in demo network: a small ReLU MLP trained on two moons (see ``scripts/train_demo_net.py``)."""
from __future__ import annotations

from typing import Tuple

from .domains import Box
from .network import Network, _read_npz

__all__ = ["demo_network"]


def demo_network() -> Tuple[Network, Box]:
    """The demo network and the box ``relutope demo`` enumerates over.

    Returns
    -------
    net : Network
        ReLU MLP with widths ``[2, 16, 16, 16, 1]`` (output: the logit of class 1), trained with scikit-learn's
        ``MLPClassifier`` on ``make_moons(n_samples=1000, noise=0.15, random_state=0)`` by
        ``scripts/train_demo_net.py``.
    box : Box
        The data's bounding box with a margin, ``[-1.75, 2.75] x [-1.25, 1.75]``.

    Raises
    ------
    ValueError
        When the packaged file ``relutope/data/demo_net.npz`` is missing or damaged (a broken installation); the
        message names the file.

    Examples
    --------
    >>> net, box = demo_network()
    >>> net.widths, box.dim
    ([2, 16, 16, 16, 1], 2)
    """
    from importlib.resources import as_file, files

    source = "relutope/data/demo_net.npz"
    with as_file(files("relutope").joinpath("data/demo_net.npz")) as path:
        data = _read_npz(path, "demo network")
    net = Network._from_arrays(data, source=source)
    missing = [k for k in ("domain_lo", "domain_hi") if k not in data]
    if missing:
        raise ValueError(f"network file {source!r}: array {missing[0]!r} (the demo box) is missing")
    try:
        box = Box(data["domain_lo"], data["domain_hi"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"network file {source!r}: the demo box is invalid: {exc}") from None
    return net, box
