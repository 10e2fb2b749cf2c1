"""Trains `npr` or `cnnspot` on the training split of the pool (held-back 'cal' split untouched).

  /usr/bin/python3 training/train.py --model npr --epochs 10
Writes training/runs/<model>/ckpt-<epoch>.pt and last.pt; resumes from last.pt with --resume.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gg import data  # noqa: E402
from gg.common import SPECS, TRAIN_CROP, auc, build, cal_views, logits_for, seed_all  # noqa: E402
from gg.pipeline import normalise  # noqa: E402

AUG = {
    # NPR: resizing wipes out the up-sampling trace, so resize less often (the pipeline never resizes).
    'npr': data.AugCfg(p_resize=0.3, scale=(0.5, 1.5), min_side=160, p_blur=0.1, p_jpeg=0.6, p_webp=0.1),
    # CNNSpot recipe: blur + JPEG (here also resize and WebP) on both classes.
    'cnnspot': data.AugCfg(p_resize=0.5, scale=(0.5, 1.5), min_side=0, p_blur=0.3, sigma=(0.2, 3.0), p_jpeg=0.7, p_webp=0.1),
}


class EpochSet(torch.utils.data.Dataset):
    def __init__(self, items, order, model_id, seed, codec_match=False):
        self.items, self.order, self.model_id, self.seed = items, order, model_id, seed
        self.codec_match = codec_match
        self.spec, self.crop, self.aug = SPECS[model_id], TRAIN_CROP[model_id], AUG[model_id]

    def __len__(self):
        return len(self.order)

    def __getitem__(self, k):
        it = self.items[self.order[k]]
        rng = random.Random(self.seed * 1_000_003 + k)
        img = data.codec_history(it.img, it.label, it.source, rng) if self.codec_match else it.img
        img = data.augment(img, rng, self.aug)
        c, _ = data.random_crop(img, self.crop, rng)
        if rng.random() < 0.5:
            c = c[:, ::-1]
        h, w = c.shape[:2]
        if self.model_id == 'npr':  # the pipeline trims to even sizes
            c = c[: h - h % 2, : w - w % 2]
        x = normalise(np.ascontiguousarray(c), self.spec, self.crop, self.crop)
        return torch.from_numpy(x), torch.tensor(float(it.label))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', choices=['npr', 'cnnspot'], required=True)
    ap.add_argument('--epochs', type=int, default=10)
    ap.add_argument('--per-epoch', type=int, default=2400)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--lr', type=float, default=None)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--resume', action='store_true')
    ap.add_argument('--codec-match', action='store_true', help='give both classes the codec histories (WebP, palette, JPEG) the pool ties to one')
    ap.add_argument('--run', default=None, help='run folder name under training/runs (default: the model id)')
    ap.add_argument('--eval-every', type=int, default=2, help='0: no cal evaluation during training (export.py does it)')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    seed_all(a.seed)
    out = os.path.join(data.REPO, 'training', 'runs', a.run or a.model)
    os.makedirs(out, exist_ok=True)

    pool = data.pool()
    train = [it for it in pool if it.split == 'train']
    cal = [it for it in pool if it.split == 'cal']
    weights = data.sample_weights(train)
    views = cal_views(cal)
    print(f'train {len(train)} cal {len(cal)}', flush=True)

    model = build(a.model)
    if a.model == 'npr':
        lr = a.lr or 5e-4
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    else:
        lr = a.lr or 1e-4
        head = list(model.fc.parameters())
        body = [p for n, p in model.named_parameters() if not n.startswith('fc.')]
        opt = torch.optim.AdamW([{'params': body, 'lr': lr}, {'params': head, 'lr': lr * 10}], weight_decay=1e-4)
    steps_per_epoch = a.per_epoch // a.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[g['lr'] for g in opt.param_groups],
                                                total_steps=a.epochs * steps_per_epoch, pct_start=0.1)
    start = 0
    last = os.path.join(out, 'last.pt')
    if a.resume and os.path.exists(last):
        ck = torch.load(last)
        model.load_state_dict(ck['model']); opt.load_state_dict(ck['opt'])
        start = ck['epoch'] + 1
        if ck['sched']['total_steps'] == sched.total_steps:
            sched.load_state_dict(ck['sched'])
        else:
            # Shortened run (CPU time ran out): cosine-anneal from the current learning rates to 0
            # over the remaining epochs instead of the original one-cycle schedule.
            remaining = max(1, (a.epochs - start) * steps_per_epoch)
            for g in opt.param_groups:
                g['initial_lr'] = g['lr']
            sched = torch.optim.lr_scheduler.LambdaLR(
                opt, lambda k: 0.5 * (1 + np.cos(np.pi * min(k, remaining) / remaining)))
            print(f'resumed at epoch {start} with cosine anneal over {remaining} steps from '
                  f'{[g["lr"] for g in opt.param_groups]}', flush=True)
    log = open(os.path.join(out, 'log.jsonl'), 'a')
    for epoch in range(start, a.epochs):
        t0 = time.time()
        rng = np.random.default_rng(a.seed * 1000 + epoch)
        order = rng.choice(len(train), size=steps_per_epoch * a.batch, replace=True, p=weights / weights.sum())
        ds = EpochSet(train, order.tolist(), a.model, a.seed * 1000 + epoch, a.codec_match)
        dl = torch.utils.data.DataLoader(ds, batch_size=a.batch, num_workers=1, persistent_workers=False, prefetch_factor=4)
        model.train()
        tot, n, correct = 0.0, 0, 0
        for step, (x, y) in enumerate(dl):
            logit = model(x).reshape(-1)
            loss = F.binary_cross_entropy_with_logits(logit, y)
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
            tot += loss.item() * len(y); n += len(y); correct += ((logit > 0).float() == y).sum().item()
            if step % 10 == 0:
                print(f'ep {epoch} step {step}/{steps_per_epoch} loss {tot / n:.4f} acc {correct / n:.3f} '
                      f'{time.time() - t0:.0f}s', flush=True)
        rec = {'epoch': epoch, 'loss': tot / n, 'acc': correct / n, 'train_s': time.time() - t0}
        if a.eval_every > 0 and ((epoch + 1) % a.eval_every == 0 or epoch == a.epochs - 1):
            t1 = time.time()
            lg = logits_for(model, [v[0] for v in views], SPECS[a.model])
            s = np.array([l.mean() for l in lg]); y = np.array([v[1] for v in views])
            rec.update({'cal_auc': auc(y, s), 'cal_acc': float(((s > 0) == y).mean()), 'eval_s': time.time() - t1})
        torch.save(model.state_dict(), os.path.join(out, f'ckpt-{epoch}.pt'))
        torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'sched': sched.state_dict(), 'epoch': epoch}, last + '.tmp')
        os.replace(last + '.tmp', last)
        print(json.dumps(rec), flush=True)
        log.write(json.dumps(rec) + '\n'); log.flush()


if __name__ == '__main__':
    main()
