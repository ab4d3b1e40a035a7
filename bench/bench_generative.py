"""Benchmark: a VAE decoder with a 2-D latent trained on the swiss roll, analysed exactly (issue #10).

Trains a small VAE on scikit-learn's ``make_swiss_roll`` (3-D points, standardised; encoder 3-64-64-(2+2), decoder
2-H-H-3 with LeakyReLU(0.1) and a learned scalar output noise ``s``), lowers the decoder with
``relutope.from_torch`` and reports, on its latent partition of ``WholeSpace(2)`` (standard normal latent) and of
the box ``[-3, 3]^2`` (uniform latent):

* regions, the distribution of the pieces' dimensions (float rank, and the exact rational rank of a sample of
  regions), the principal angles between adjacent pieces, image overlaps (injectivity);
* the exact entropy ``H(G(z))`` against a Monte Carlo estimate with ``--mc`` latent samples (default 10^6), with
  the difference in standard errors, and the times of both;
* the exact log-likelihood of held-out points under ``x = G(z) + N(0, s^2 I)``, against the VAE's ELBO (a lower
  bound, for scale) and an importance-free Monte Carlo estimate ``log mean_z N(x; G(z), s^2 I)``;
* disentanglement (mean off-diagonal Gram entry, per-direction consistency);
* pictures: the pieces in 3-D coloured by region, density and angularity, and the latent partition coloured by
  log-determinant (``generative.png`` in ``--out``, with the decoder as ``generative_decoder.npz``).

    python bench/bench_generative.py                    # about a minute on a loaded 2-core machine
    python bench/bench_generative.py --hidden 16 --steps 1000 --mc 100000 --out /tmp/bench
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import relutope
from relutope import generative as gen


def train_vae(x: np.ndarray, hidden: int, steps: int, seed: int):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    torch.set_num_threads(1)  # tiny layers: threads only contend
    X = torch.tensor(x, dtype=torch.float64)
    enc = nn.Sequential(nn.Linear(3, 32), nn.LeakyReLU(0.1), nn.Linear(32, 32), nn.LeakyReLU(0.1),
                        nn.Linear(32, 4)).double()
    dec = nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(0.1), nn.Linear(hidden, hidden), nn.LeakyReLU(0.1),
                        nn.Linear(hidden, 3)).double()
    log_s = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()) + [log_s], lr=3e-3)
    for step in range(steps):
        idx = torch.randint(0, len(X), (256,))
        xb = X[idx]
        h = enc(xb)
        mu, logv = h[:, :2], h[:, 2:].clamp(-12, 4)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logv)
        rec = dec(z)
        s2 = torch.exp(2 * log_s)
        nll = 0.5 * ((xb - rec) ** 2).sum(1) / s2 + 3 * log_s + 1.5 * np.log(2 * np.pi)
        kl = 0.5 * (mu ** 2 + logv.exp() - 1 - logv).sum(1)
        beta = min(1.0, 2.0 * step / steps)  # KL warm-up against posterior collapse
        loss = (nll + beta * kl).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    def elbo(xt: np.ndarray, n_samples: int = 64) -> np.ndarray:
        with torch.no_grad():
            xb = torch.tensor(xt, dtype=torch.float64)
            h = enc(xb)
            mu, logv = h[:, :2], h[:, 2:].clamp(-12, 4)
            s2 = torch.exp(2 * log_s)
            tot = torch.zeros(len(xb), dtype=torch.float64)
            for _ in range(n_samples):
                z = mu + torch.randn_like(mu) * torch.exp(0.5 * logv)
                tot += -(0.5 * ((xb - dec(z)) ** 2).sum(1) / s2 + 3 * log_s + 1.5 * np.log(2 * np.pi))
            kl = 0.5 * (mu ** 2 + logv.exp() - 1 - logv).sum(1)
            return (tot / n_samples - kl).numpy()

    return relutope.from_torch(dec, 2), float(torch.exp(log_s).detach()), elbo, float(loss.detach())


def mc_log_likelihood(net, x: np.ndarray, s: float, n: int, seed: int) -> np.ndarray:
    from scipy.special import logsumexp

    z = np.random.default_rng(seed).standard_normal((n, 2))
    G = net(z)
    out = np.empty(len(x))
    for k in range(len(x)):
        lp = -0.5 * ((G - x[k]) ** 2).sum(1) / s ** 2 - 3 * np.log(s) - 1.5 * np.log(2 * np.pi)
        out[k] = logsumexp(lp) - np.log(n)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--n", type=int, default=4000, help="swiss-roll points (3/4 train, 1/4 held out)")
    ap.add_argument("--mc", type=int, default=10 ** 6, help="Monte Carlo latent samples for the entropy")
    ap.add_argument("--mc-repeats", type=int, default=3, help="independent Monte Carlo estimates of the entropy")
    ap.add_argument("--test-points", type=int, default=200, help="held-out points for the log-likelihood")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = ap.parse_args()
    from sklearn.datasets import make_swiss_roll

    x, _ = make_swiss_roll(args.n, noise=0.3, random_state=args.seed)
    x = (x - x.mean(0)) / x.std(0)
    n_train = 3 * args.n // 4
    x_train, x_test = x[:n_train], x[n_train:][:args.test_points]

    t = time.perf_counter()
    net, s, elbo, loss = train_vae(x_train, args.hidden, args.steps, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    net.save(args.out / "generative_decoder.npz")
    print(f"VAE on make_swiss_roll ({n_train} training points): decoder {net.widths}, LeakyReLU(0.1), "
          f"learned noise s = {s:.4f}, final loss {loss:.4f} ({time.perf_counter() - t:.1f} s to train)")

    timings = {}

    def timed(name, fn, *a, **k):
        t0 = time.perf_counter()
        r = fn(*a, **k)
        timings[name] = time.perf_counter() - t0
        return r

    part = timed("enumerate", relutope.enumerate_regions, net, relutope.WholeSpace(2))
    pieces = timed("pieces", gen.manifold_pieces, part)
    print(f"\nlatent partition of WholeSpace(2): {len(part)} regions ({timings['enumerate']:.3f} s)")
    dims = np.bincount(pieces.rank, minlength=3)
    print(f"piece dimensions (float rank, tol max(D,S) eps sigma_max): " +
          ", ".join(f"{d}-D: {c}" for d, c in enumerate(dims)) + f"  ({timings['pieces']:.3f} s)")
    sample = np.random.default_rng(0).choice(len(part), size=min(200, len(part)), replace=False)
    ex = timed("exact_rank", gen.exact_ranks, part, sample)
    print(f"exact rational rank of {len(sample)} sampled regions: agrees with the float rank on "
          f"{int((ex == pieces.rank[sample]).sum())} ({timings['exact_rank']:.2f} s, python-flint)")
    ang = timed("angles", gen.piece_angles, part, pieces)
    deg = np.degrees(ang.angularity)
    nontriv = (np.nan_to_num(ang.angles) > 1e-7).sum(axis=1)
    print(f"angularity over {len(ang.edges)} adjacency edges: median {np.median(deg):.3f} deg, 90% "
          f"{np.percentile(deg, 90):.3f}, max {deg.max():.3f}; edges with <= 1 non-trivial angle: "
          f"{np.mean(nontriv <= 1):.4f}  ({timings['angles']:.3f} s, adjacency included)")
    ov = timed("overlaps", gen.image_overlaps, part, pieces)
    print(f"image overlaps: {'none (injective)' if ov.injective else f'{len(ov.pairs)} pairs'}; "
          f"{len(np.unique(ov.flat[ov.flat >= 0]))} distinct flats  ({timings['overlaps']:.3f} s)")

    print("\nentropy H(G(z)) in nats (exact = H(z) + sum_w P(w) 1/2 log det(A_w^T A_w))")
    print(f"{'latent':<16}{'regions':>8}{'exact':>11}{'exact s':>9}{'sum P(w) - 1':>14}   Monte Carlo: "
          f"estimate, s.e., (exact - MC) / s.e., seconds, for each of {args.mc_repeats} independent runs of "
          f"{args.mc:.0e} samples")
    for label, domain in (("N(0, I) on R^2", relutope.WholeSpace(2)), ("U([-3, 3]^2)", relutope.Box([-3, -3], [3, 3]))):
        p = part if isinstance(domain, relutope.WholeSpace) else relutope.enumerate_regions(net, domain)
        t0 = time.perf_counter()
        h = gen.entropy(p, check_injective=False)
        te = time.perf_counter() - t0
        runs = []
        for rep in range(args.mc_repeats):
            t0 = time.perf_counter()
            mc = gen.entropy_monte_carlo(p, n=args.mc, seed=(args.seed, rep))
            runs.append((mc.entropy, mc.standard_error, time.perf_counter() - t0))
        est = np.array([r[0] for r in runs])
        se = np.array([r[1] for r in runs])
        pooled, pooled_se = est.mean(), np.sqrt(np.sum(se ** 2)) / len(se)
        cells = "; ".join(f"{e:.6f} {s_:.1e} {(h.entropy - e) / s_:+.2f} {t_:.0f}s" for e, s_, t_ in runs)
        print(f"{label:<16}{len(p):>8}{h.entropy:>11.6f}{te:>9.3f}{h.masses.mass.sum() - 1:>14.2e}   {cells}; "
              f"pooled {pooled:.6f} ({(h.entropy - pooled) / pooled_se:+.2f} s.e.); MC / exact time "
              f"{np.mean([r[2] for r in runs]) / te:.0f}x")

    ll = timed("loglik", gen.log_likelihood, part, x_test, s, pieces=pieces)
    t0 = time.perf_counter()
    mc_ll = mc_log_likelihood(net, x_test, s, 10 ** 5, args.seed + 2)
    tmc = time.perf_counter() - t0
    el = elbo(x_test)
    print(f"\nheld-out log-likelihood per point ({len(x_test)} points, s = {s:.4f}):")
    print(f"  exact {ll.log_likelihood.mean():.5f} ({timings['loglik']:.2f} s, {ll.method}),"
          f" Monte Carlo (10^5 latent samples) {mc_ll.mean():.5f} ({tmc:.2f} s),"
          f" ELBO {el.mean():.5f} (a lower bound, estimated with 64 samples per point: exact - ELBO "
          f"{np.mean(ll.log_likelihood - el):.4f}); max |exact - MC| {np.max(np.abs(ll.log_likelihood - mc_ll)):.4f}")
    train_ll = gen.log_likelihood(part, x_train[:200], s, pieces=pieces).log_likelihood
    print(f"  200 training points: exact {train_ll.mean():.5f}")

    masses = gen.region_masses(part)
    d = gen.disentanglement(part, masses=masses, pieces=pieces)
    print(f"\ndisentanglement: mass-weighted mean off-diagonal Gram entry (RMS per region) "
          f"{np.sum(masses.mass * d.off_diagonal):.4f}; consistency per latent direction "
          f"{np.round(d.consistency, 4).tolist()}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(16, 4.5))
    box = relutope.enumerate_regions(net, relutope.Box([-2.5, -2.5], [2.5, 2.5]))
    bpieces = gen.manifold_pieces(box)
    for i, color in enumerate(("region", "density", "angularity")):
        ax = fig.add_subplot(1, 4, i + 1, projection="3d")
        coll = gen.plot_pieces(box, ax=ax, color=color, latent="gaussian", pieces=bpieces)
        ax.set_title(f"pieces coloured by {color}")
        if color != "region":
            fig.colorbar(coll, ax=ax, shrink=0.6)
    ax = fig.add_subplot(1, 4, 4)
    coll = gen.plot_log_det(box, ax=ax, pieces=bpieces, edges=False)
    fig.colorbar(coll, ax=ax, shrink=0.6)
    ax.set_title("latent partition: 1/2 log det(A^T A)")
    fig.tight_layout()
    path = args.out / "generative.png"
    fig.savefig(path, dpi=110)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
