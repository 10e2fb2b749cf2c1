"""Chooses ensemble weights on the held-back 'cal' split (never on dev-eval) and writes them to the manifest.

  /usr/bin/python3 training/ensemble.py npr cnnspot probe

Combination rule assumed: score = sigmoid(Σ w_i c_i / Σ w_i) over the enabled members' calibrated
logits c_i (a weighted mean of log-odds). Weights = non-negative logistic-regression coefficients on
the members' calibrated logits, normalised to sum 1. Dev-eval numbers of the combination are reported.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gg import data  # noqa: E402
from gg.common import auc, tpr_at_fpr  # noqa: E402

REPO = data.REPO


def logit(p):
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def main():
    ids = sys.argv[1:]
    manifest_path = os.path.join(REPO, 'models', 'manifest.json')
    manifest = json.load(open(manifest_path))
    entries = {m['id']: m for m in manifest['models']}
    cs, y = [], None
    for mid in ids:
        l, yy = np.load(os.path.join(REPO, 'training', 'runs', mid, 'cal_logits.npy'))
        p = entries[mid]['postprocess']['platt']
        cs.append(p['a'] * l + p['b'])
        assert y is None or (y == yy).all()
        y = yy
    X = torch.tensor(np.stack(cs, 1)); Y = torch.tensor(y)
    raw = torch.zeros(len(ids) + 1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([raw], lr=1, max_iter=300, line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        w = torch.nn.functional.softplus(raw[:-1])  # non-negative
        loss = torch.nn.functional.binary_cross_entropy_with_logits(X @ w + raw[-1], Y) + 1e-4 * (w ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    beta = torch.nn.functional.softplus(raw[:-1]).detach().numpy()
    w = beta / beta.sum()
    out = {'members': ids, 'lr_coef': beta.tolist(), 'weights': w.round(4).tolist()}
    out['cal_auc_members'] = {mid: auc(y, c) for mid, c in zip(ids, cs)}
    ens_cal = (np.stack(cs, 1) * w).sum(1)
    out['cal_auc_ensemble'] = auc(y, ens_cal)

    # dev-eval report for the chosen combination
    scores = {mid: json.load(open(os.path.join(REPO, 'training', 'runs', mid, 'dev_scores.json'))) for mid in ids}
    rows = scores[ids[0]]
    L = np.stack([logit([r['score'] for r in scores[mid]]) for mid in ids], 1)
    ens = 1 / (1 + np.exp(-(L * w).sum(1)))
    lab = np.array([r['label'] for r in rows])
    dev = {}
    for form in ('normalized', 'as-received'):
        sel = np.array([r['form'] == form for r in rows])
        dev[form] = {'pooled': {'auc': auc(lab[sel], ens[sel]), 'tpr_at_5fpr': tpr_at_fpr(lab[sel], ens[sel])}}
        for s in data.DEV_SETS:
            m = sel & np.array([r['set'] == s for r in rows])
            dev[form][s] = {'auc': auc(lab[m], ens[m]), 'tpr_at_5fpr': tpr_at_fpr(lab[m], ens[m])}
    out['dev_ensemble'] = dev
    for mid, wi in zip(ids, w):
        entries[mid]['weight'] = round(float(wi), 4)
    with open(manifest_path, 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    json.dump(out, open(os.path.join(REPO, 'training', 'runs', 'ensemble.json'), 'w'), indent=1)
    print(json.dumps(out, indent=1))


if __name__ == '__main__':
    main()
