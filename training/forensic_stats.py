"""Classical forensic statistics as a baseline: is there any low-level signal in dev-eval at all?

Twelve hand-made image statistics (noise residual level, noise floor, NPR-style 2-px residual,
8-px periodicity of the residual spectrum, high/mid-frequency energy, saturation, colourfulness,
contrast, clipping), each reported on its own as a score (AUC, "higher = AI") and combined by a
logistic regression fitted on the training pool only. Dev-eval is only reported.

    /usr/bin/python3 training/forensic_stats.py            # ≈ 2 min on 2 cores; needs build_cache.py first

Output: a table on stdout and training/runs/forensic-stats.json.
"""
import io
import json
import os
import random
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gg import common, data  # noqa: E402

FEATURES = ['res_std', 'res_mad', 'noise_p10', 'noise_p50', 'npr', 'p8', 'hf', 'mf', 'sat', 'colorful',
            'contrast', 'clip']


def stats(img: np.ndarray) -> list[float]:
    x = img.astype(np.float32)
    y = 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]
    h, w = y.shape
    r = 4 * y[1:-1, 1:-1] - y[:-2, 1:-1] - y[2:, 1:-1] - y[1:-1, :-2] - y[1:-1, 2:]
    hb, wb = (r.shape[0] // 8) * 8, (r.shape[1] // 8) * 8
    block_std = r[:hb, :wb].reshape(hb // 8, 8, wb // 8, 8).std(axis=(1, 3))
    z = y[:(h // 2) * 2, :(w // 2) * 2]
    npr = np.abs(z - z[::2, ::2].repeat(2, 0).repeat(2, 1)).mean() / (np.abs(np.diff(z, axis=1)).mean() + 1e-6)
    # Latent decoders (8× upsampling) leave energy at multiples of 1/8 cycle per pixel; so does a JPEG
    # block grid, which is why this can only help where both classes went through the same JPEG.
    n = min(512, (min(r.shape) // 8) * 8)
    spec = np.abs(np.fft.fft2(r[:n, :n] - r[:n, :n].mean()))
    spec /= spec.mean() + 1e-9
    p8 = np.mean([spec[0, n // 8 * k] + spec[n // 8 * k, 0] for k in range(1, 8)])
    power = np.abs(np.fft.fft2(y[:n, :n] - y[:n, :n].mean())) ** 2
    rad = np.sqrt(np.fft.fftfreq(n)[:, None] ** 2 + np.fft.fftfreq(n)[None, :] ** 2)
    hf = power[rad > 0.25].sum() / power.sum()
    mf = power[(rad > 0.1) & (rad <= 0.25)].sum() / power.sum()
    mx, mn = x.max(-1), x.min(-1)
    rg, yb = x[..., 0] - x[..., 1], 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
    colorful = np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    return [float(v) for v in (r.std(), np.median(np.abs(r)), np.percentile(block_std, 10),
                               np.percentile(block_std, 50), npr, p8, hf, mf, ((mx - mn) / (mx + 1e-6)).mean(),
                               colorful, y.std(), (x >= 254).mean() + (x <= 1).mean())]


def degrade(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """What dev-eval `normalized` did to its images: a downscale (often large) and JPEG q90 4:2:0."""
    im = Image.fromarray(img)
    s = rng.uniform(0.4, 1.0)
    im = im.resize((max(64, round(im.width * s)), max(64, round(im.height * s))), Image.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, 'JPEG', quality=90, subsampling=2)
    return np.asarray(Image.open(buf).convert('RGB'))


def fit_logreg(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1e-2, steps: int = 3000) -> np.ndarray:
    """Weighted L2 logistic regression by gradient descent on standardised features (numpy only)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    beta = np.zeros(xb.shape[1])
    w = w / w.sum()
    for _ in range(steps):
        p = 1 / (1 + np.exp(-xb @ beta))
        grad = xb.T @ (w * (p - y)) + l2 * np.r_[beta[:-1], 0]
        beta -= 1.0 * grad
    return beta


def main() -> None:
    rng = random.Random(1)
    pool = [it for it in data.pool() if min(it.img.shape[:2]) >= 64]
    train = [it for it in pool if it.split == 'train']
    cal = [it for it in pool if it.split == 'cal']
    f_train = np.array([stats(degrade(it.img, rng)) for it in train])
    f_cal = np.array([stats(degrade(it.img, rng)) for it in cal])
    y_train = np.array([it.label for it in train], dtype=np.float64)
    y_cal = np.array([it.label for it in cal])
    dev = [d for d in data.dev() if d.form == 'normalized']
    f_dev = np.array([stats(d.img) for d in dev])
    y_dev = np.array([d.label for d in dev])
    sets = np.array([d.set for d in dev])

    mu, sd = f_train.mean(0), f_train.std(0) + 1e-9
    beta = fit_logreg((f_train - mu) / sd, y_train, data.sample_weights(train))

    def score(f: np.ndarray) -> np.ndarray:
        return np.hstack([(f - mu) / sd, np.ones((len(f), 1))]) @ beta

    columns = [(k, f_cal[:, i], f_dev[:, i]) for i, k in enumerate(FEATURES)]
    columns.append(('logreg (fitted on train split)', score(f_cal), score(f_dev)))
    report: dict = {}
    print(f"{'statistic':32s} {'cal':>6s} " + ' '.join(f'{s[:2]:>6s}' for s in data.DEV_SETS) + '  pooled [95% CI]')
    for name, cal_s, dev_s in columns:
        per_set = {s: common.auc(y_dev[sets == s], dev_s[sets == s]) for s in data.DEV_SETS}
        pooled = common.auc(y_dev, dev_s)
        lo, hi = common.bootstrap_auc(y_dev, dev_s)
        report[name] = {'cal': common.auc(y_cal, cal_s), **per_set, 'pooled': pooled, 'pooled_ci': [lo, hi]}
        print(f'{name:32s} {report[name]["cal"]:6.3f} ' + ' '.join(f'{per_set[s]:6.3f}' for s in data.DEV_SETS)
              + f'  {pooled:.3f} [{lo:.2f}, {hi:.2f}]')
    os.makedirs(os.path.join(data.REPO, 'training', 'runs'), exist_ok=True)
    with open(os.path.join(data.REPO, 'training', 'runs', 'forensic-stats.json'), 'w') as f:
        json.dump(report, f, indent=2)


if __name__ == '__main__':
    main()
