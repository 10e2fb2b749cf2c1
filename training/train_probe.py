"""UnivFD-style probe: frozen MobileNetV2 (nsfwjs weights) features + an L2-regularised logistic head.

  /usr/bin/python3 training/train_probe.py
Features of augmented training views are computed once (cached in training/runs/probe/feats.pt);
the regularisation strength is chosen by grouped 5-fold cross-validation on the training split only.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gg import data  # noqa: E402
from gg.common import SPECS, auc, build, seed_all  # noqa: E402
from gg.pipeline import preprocess  # noqa: E402

AUG = data.AugCfg(p_resize=0.5, scale=(0.5, 1.5), p_blur=0.3, sigma=(0.2, 3.0), p_jpeg=0.7, p_webp=0.1)
CIFAKE_SHARE = 0.10  # of the training weight; the 32×32 domain must not dominate


@torch.no_grad()
def features(model, images, batch=32):
    feats = []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(np.concatenate([preprocess(im, SPECS['probe']) for im in images[i:i + batch]]))
        feats.append(model.features(x))
        if i % 640 == 0:
            print(f'  feats {i}/{len(images)}', flush=True)
    return torch.cat(feats).double()


def fit_logreg(x, y, w, lam, iters=200):
    """Weighted logistic regression on standardised features; returns (coef, bias)."""
    d = x.shape[1]
    p = torch.zeros(d + 1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([p], lr=1, max_iter=iters, line_search_fn='strong_wolfe')
    wn = w / w.sum()

    def closure():
        opt.zero_grad()
        z = x @ p[:d] + p[d]
        loss = (wn * torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction='none')).sum() + lam * (p[:d] ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return p[:d].detach(), p[d].detach()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--views', type=int, default=2)
    ap.add_argument('--cifake', type=int, default=1000)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--seed', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    seed_all(a.seed)
    out = os.path.join(data.REPO, 'training', 'runs', 'probe')
    os.makedirs(out, exist_ok=True)
    model = build('probe').eval()
    for p in model.features.parameters():
        p.requires_grad_(False)

    cache = os.path.join(out, 'feats.pt')
    if os.path.exists(cache):
        F = torch.load(cache)
    else:
        t0 = time.time()
        train = [it for it in data.pool() if it.split == 'train']
        imgs, ys, ws, groups = [], [], [], []
        sw = data.sample_weights(train)
        for v in range(a.views):
            for i, it in enumerate(train):
                rng = random.Random((a.seed * 100 + v) * 1_000_003 + i)
                imgs.append(data.augment(it.img, rng, AUG)); ys.append(it.label); ws.append(sw[i]); groups.append(it.group)
        cx, cy = data.cifake('train')
        rng = np.random.default_rng(a.seed)
        pick = np.concatenate([rng.choice(np.where(cy == c)[0], a.cifake // 2, replace=False) for c in (0, 1)])
        total = float(np.sum(ws))
        for j in pick:
            r = random.Random(a.seed * 7919 + int(j))
            imgs.append(data.augment(cx[j], r, data.AugCfg(p_resize=0, p_blur=0.1)))
            ys.append(int(cy[j])); ws.append(total * CIFAKE_SHARE / (1 - CIFAKE_SHARE) / len(pick)); groups.append(f'cifake{j}')
        F = {'x': features(model, imgs), 'y': torch.tensor(ys, dtype=torch.float64),
             'w': torch.tensor(ws, dtype=torch.float64), 'groups': groups}
        torch.save(F, cache)
        print(f'features {tuple(F["x"].shape)} in {time.time() - t0:.0f}s', flush=True)

    x, y, w = F['x'], F['y'], F['w']
    mu, sd = x.mean(0), x.std(0).clamp_min(1e-6)
    xs = (x - mu) / sd
    fold = torch.tensor([int(hashlib.sha256(g.encode()).hexdigest()[:4], 16) % 5 for g in F['groups']])
    results = {}
    for lam in (1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1):
        scores = torch.zeros(len(y), dtype=torch.float64)
        for k in range(5):
            tr, te = fold != k, fold == k
            c, b = fit_logreg(xs[tr], y[tr], w[tr], lam)
            scores[te] = xs[te] @ c + b
        real = np.array([not g.startswith('cifake') for g in F['groups']])
        results[lam] = auc(y.numpy()[real], scores.numpy()[real])
        print(f'lambda {lam}: grouped-CV AUC (non-CIFAKE) {results[lam]:.4f}', flush=True)
    lam = max(results, key=results.get)
    c, b = fit_logreg(xs, y, w, lam)
    with torch.no_grad():
        model.fc.weight.copy_((c / sd).float()[None])
        model.fc.bias.copy_((b - (c * mu / sd).sum()).float()[None])
    torch.save(model.state_dict(), os.path.join(out, 'last-model.pt'))
    json.dump({'lambda': lam, 'cv_auc': {str(k): v for k, v in results.items()}, 'n_train_views': len(y)},
              open(os.path.join(out, 'probe.json'), 'w'), indent=1)
    print('chosen lambda', lam, flush=True)


if __name__ == '__main__':
    main()
