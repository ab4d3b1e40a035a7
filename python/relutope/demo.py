"""The built-in demo network: a small ReLU MLP trained on two moons (see ``scripts/train_demo_net.py``)."""
from __future__ import annotations

from typing import Tuple

import numpy as np

from .domains import Box
from .network import Network

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
    """
    from importlib.resources import files

    with files("relutope").joinpath("data/demo_net.npz").open("rb") as fh, np.load(fh) as data:
        net = Network._from_arrays(data, source="relutope/data/demo_net.npz")
        box = Box(data["domain_lo"], data["domain_hi"])
    return net, box
