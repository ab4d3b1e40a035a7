"""Train the built-in demo network of ``relutope demo`` and write it into the package.

A ReLU MLP with 2 inputs, three hidden layers of 16 units and one output (the logit of class 1), trained with
scikit-learn on the two-moons dataset. Run from the repository root:

    python scripts/train_demo_net.py

It writes ``python/relutope/data/demo_net.npz``: the network (``relutope.Network.save`` format) plus the arrays
``domain_lo``/``domain_hi`` (the box ``relutope demo`` enumerates over, the data's bounding box with a margin)
and ``train_accuracy``. Requires scikit-learn (``pip install .[test]``).
"""
from pathlib import Path

import numpy as np
from sklearn.datasets import make_moons
from sklearn.neural_network import MLPClassifier

import relutope

OUT = Path(__file__).resolve().parents[1] / "python" / "relutope" / "data" / "demo_net.npz"


def main() -> None:
    X, y = make_moons(n_samples=1000, noise=0.15, random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=(16, 16, 16), activation="relu", solver="adam", max_iter=3000,
                        random_state=0, tol=1e-6).fit(X, y)
    weights = [(W.T, b) for W, b in zip(clf.coefs_, clf.intercepts_)]
    net = relutope.Network.from_weights(weights, activation="relu")
    logits = net(X)[:, 0]
    # The relutope network reproduces scikit-learn's decision function exactly.
    assert np.allclose(logits, clf.decision_function(X) if hasattr(clf, "decision_function")
                       else np.log(clf.predict_proba(X)[:, 1] / clf.predict_proba(X)[:, 0]), atol=1e-8)
    accuracy = float(np.mean((logits > 0) == y))
    lo = np.floor((X.min(axis=0) - 0.25) * 4) / 4
    hi = np.ceil((X.max(axis=0) + 0.25) * 4) / 4
    arrays = net._to_arrays()
    arrays.update(domain_lo=lo, domain_hi=hi, train_accuracy=np.array(accuracy),
                  description=np.array("ReLU MLP [2, 16, 16, 16, 1] trained by scripts/train_demo_net.py "
                                       "on sklearn make_moons(n_samples=1000, noise=0.15, random_state=0)"))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez(OUT, **arrays)
    print(f"wrote {OUT}: accuracy {accuracy:.3f}, box {lo} .. {hi}")


if __name__ == "__main__":
    main()
