"""Calibrates, evaluates, exports one trained model and writes its manifest entry and parity fixture.

  /usr/bin/python3 training/export.py --model npr [--ckpt training/runs/npr/ckpt-9.pt]

Steps: fuse Conv+BN and round weights to fp16 (so PyTorch and the fp16-stored ONNX agree) → Platt
scaling on the held-back 'cal' split → dev-eval report (never fitted on) → ONNX (opset 17, fp16 storage)
→ test/fixtures/parity/<id>.{png,json} → onnxruntime-node check → models/manifest.json entry.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from PIL import Image
from torch.nn.utils.fusion import fuse_conv_bn_eval

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gg import data  # noqa: E402
from gg.common import SPECS, auc, bootstrap_auc, build, cal_views, logits_for, tpr_at_fpr  # noqa: E402
from gg.models import Bottleneck, InvertedResidual, MobileNetV2, NPR, round_fp16_  # noqa: E402
from gg.pipeline import preprocess, score_of, sigmoid  # noqa: E402

REPO = data.REPO
MODELS = os.path.join(REPO, 'models')
PARITY = os.path.join(REPO, 'test', 'fixtures', 'parity')

INFO = {
    'npr': {
        'description': 'NPR (Tan et al., CVPR 2024): ResNet-50 stem+layer1+layer2 on the nearest-upsampling residual, '
                       'trained from scratch by genguard; native-resolution 192 px crops, no resize.',
        'parity_size': (256, 224),
    },
    'cnnspot': {
        'description': 'CNNSpot recipe (Wang et al., CVPR 2020) on MobileNetV2 (ImageNet layers from nsfwjs), '
                       'fine-tuned real vs generated with blur/JPEG augmentation; native-resolution 192 px crops.',
        'parity_size': (256, 224),
    },
    'probe': {
        'description': 'UnivFD-style probe (Ojha et al., CVPR 2023): frozen MobileNetV2 features (nsfwjs weights, '
                       'pooled from 5 depths) + logistic head; shorter side resized to 224, centre crop.',
        'parity_size': (300, 224),
    },
}
DISABLED_NOTE = {
    'npr': ('Disabled by default: adds nothing to the ensemble on the held-back cal split (AUC 0.913 with vs 0.913 '
            'without) and costs 37 ms per image on 2 idle cores (more than the enabled members together).'),
}
LICENCE = {
    'npr': 'Apache-2.0 (weights trained by genguard; see models/npr/README.md for training-data terms)',
    'cnnspot': 'Apache-2.0 AND MIT (backbone weights from nsfwjs, MIT © Infinite Red); see models/cnnspot/README.md',
    'probe': 'Apache-2.0 AND MIT (backbone weights from nsfwjs, MIT © Infinite Red); see models/probe/README.md',
}


def fuse(model: torch.nn.Module) -> torch.nn.Module:
    """Folds every BatchNorm into its convolution (eval mode), so no fp16 rounding happens after export."""
    model.eval()
    for m in list(model.modules()):
        if isinstance(m, NPR):
            m.conv1 = fuse_conv_bn_eval(m.conv1, m.bn1); m.bn1 = torch.nn.Identity()
        elif isinstance(m, Bottleneck):
            for c, b in (('conv1', 'bn1'), ('conv2', 'bn2'), ('conv3', 'bn3')):
                setattr(m, c, fuse_conv_bn_eval(getattr(m, c), getattr(m, b))); setattr(m, b, torch.nn.Identity())
            if m.downsample is not None:
                m.downsample = torch.nn.Sequential(fuse_conv_bn_eval(m.downsample[0], m.downsample[1]))
        elif isinstance(m, MobileNetV2):
            m.conv1 = fuse_conv_bn_eval(m.conv1, m.conv1_bn); m.conv1_bn = torch.nn.Identity()
            m.conv_last = fuse_conv_bn_eval(m.conv_last, m.conv_last_bn); m.conv_last_bn = torch.nn.Identity()
        elif isinstance(m, InvertedResidual):
            pairs = [('dw', 'dw_bn'), ('project', 'project_bn')] + ([('expand', 'expand_bn')] if m.expand is not None else [])
            for c, b in pairs:
                setattr(m, c, fuse_conv_bn_eval(getattr(m, c), getattr(m, b))); setattr(m, b, torch.nn.Identity())
    return model


def fit_platt(l: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    lt = torch.tensor(l, dtype=torch.float64); yt = torch.tensor(y, dtype=torch.float64)
    p = torch.tensor([1.0, 0.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([p], lr=1, max_iter=200, line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(p[0] * lt + p[1], yt)
        loss.backward()
        return loss

    opt.step(closure)
    return float(p[0]), float(p[1])


def to_fp16_storage(path_in: str, path_out: str):
    m = onnx.load(path_in)
    g = m.graph
    inits, casts = [], []
    for init in g.initializer:
        arr = numpy_helper.to_array(init)
        if init.data_type == TensorProto.FLOAT and arr.size > 8:
            inits.append(numpy_helper.from_array(arr.astype(np.float16), init.name + '__fp16'))
            casts.append(helper.make_node('Cast', [init.name + '__fp16'], [init.name], to=TensorProto.FLOAT,
                                          name='cast_' + init.name))
        else:
            inits.append(init)
    del g.initializer[:]
    g.initializer.extend(inits)
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(m)
    onnx.save(m, path_out)


def synth_image(w: int, h: int, seed: int) -> np.ndarray:
    """Deterministic synthetic RGB test card (gradients, rings, checker, fine texture); compresses well."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 90 * np.sin(xx / 9.0 + seed) * np.cos(yy / 13.0)
    g = (xx * 0.8 + yy * 0.5 + seed * 17) % 256
    ring = np.sin(np.hypot(xx - w / 2, yy - h / 2) / 4.0)
    b = 60 + 80 * (((xx // 16 + yy // 16) % 2)) + 50 * ring + ((xx * 7 + yy * 3) % 5) * 4
    return np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)


def onnx_logits(onnx_path: str, x: np.ndarray) -> np.ndarray:
    """Runs the ONNX file with onnxruntime-node (the runtime the TS pipeline uses)."""
    tmp = os.path.join(data.CACHE, 'onnx_check_in.bin')
    x.astype(np.float32).tofile(tmp)
    js = (
        "const ort=require('onnxruntime-node');const fs=require('fs');(async()=>{"
        f"const s=await ort.InferenceSession.create({json.dumps(onnx_path)});"
        f"const b=fs.readFileSync({json.dumps(tmp)});"
        f"const t=new ort.Tensor('float32',new Float32Array(b.buffer,b.byteOffset,b.length/4),{json.dumps(list(x.shape))});"
        "const o=await s.run({[s.inputNames[0]]:t});"
        "console.log(JSON.stringify(Array.from(o[s.outputNames[0]].data)));})();"
    )
    out = subprocess.run(['node', '-e', js], cwd=REPO, capture_output=True, text=True, check=True)
    return np.array(json.loads(out.stdout.strip().splitlines()[-1]))


def metrics(y, s) -> dict:
    y = np.asarray(y); s = np.asarray(s)
    lo, hi = bootstrap_auc(y, s) if len(y) >= 20 else (float('nan'), float('nan'))
    return {'n': int(len(y)), 'n_ai': int(y.sum()), 'auc': auc(y, s), 'auc_ci95': [lo, hi],
            'tpr_at_5fpr': tpr_at_fpr(y, s), 'acc_at_0.5': float(((s > 0.5) == y).mean())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', choices=['npr', 'cnnspot', 'probe'], required=True)
    ap.add_argument('--ckpt', default=None)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--cifake-n', type=int, default=1000)
    ap.add_argument('--weight', type=float, default=1.0)
    ap.add_argument('--enabled', choices=['true', 'false'], default=None, help='default: keep the existing entry\'s value, else true')
    ap.add_argument('--quick', action='store_true', help='skip the dev-eval and CIFAKE reports')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    mid = a.model
    run = os.path.join(REPO, 'training', 'runs', mid)
    ckpt = a.ckpt or os.path.join(run, 'last-model.pt' if mid == 'probe' else 'last.pt')
    sd = torch.load(ckpt)
    sd = sd.get('model', sd)
    model = build(mid)
    model.load_state_dict(sd)
    model = round_fp16_(fuse(model)).eval()
    spec = SPECS[mid]
    t0 = time.time()
    report = {'model': mid, 'ckpt': os.path.relpath(ckpt, REPO), 'params': int(sum(p.numel() for p in model.parameters()))}

    # Platt scaling on the held-back split (mean raw logit per image = what mean_logit aggregation sees).
    cal = [it for it in data.pool() if it.split == 'cal']
    views = cal_views(cal)
    cal_l = np.array([l.mean() for l in logits_for(model, [v[0] for v in views], spec)])
    cal_y = np.array([v[1] for v in views])
    pa, pb = fit_platt(cal_l, cal_y)
    post = {'activation': 'sigmoid', 'platt': {'a': round(pa, 6), 'b': round(pb, 6)}, 'aggregate': 'mean_logit'}
    cal_s = sigmoid(pa * cal_l + pb)
    report['cal'] = metrics(cal_y, cal_s)
    report['cal']['per_source_mean_score'] = {
        src: float(cal_s[[v[2] == src for v in views]].mean()) for src in sorted({v[2] for v in views})}
    np.save(os.path.join(run, 'cal_logits.npy'), np.stack([cal_l, cal_y]))
    print('cal', json.dumps(report['cal']), f'{time.time() - t0:.0f}s', flush=True)

    # Dev-eval: reporting only.
    dev = [] if a.quick else data.dev()
    dl = logits_for(model, [d.img for d in dev], spec)
    ds = np.array([score_of(l, post) for l in dl]); dy = np.array([d.label for d in dev])
    rows = [{'set': d.set, 'form': d.form, 'name': d.name, 'label': d.label, 'score': float(s)} for d, s in zip(dev, ds)]
    json.dump(rows, open(os.path.join(run, 'dev_scores.json'), 'w'))
    report['dev'] = {}
    for form in (() if a.quick else ('normalized', 'as-received')):
        sel = np.array([d.form == form for d in dev])
        report['dev'][form] = {'pooled': metrics(dy[sel], ds[sel])}
        for s in data.DEV_SETS:
            m = sel & np.array([d.set == s for d in dev])
            report['dev'][form][s] = metrics(dy[m], ds[m])
    # normalized vs as-received on the same images (format/size shortcut check)
    pairs = []
    for d, s in zip(dev, ds):
        if d.form == 'as-received':
            stem = os.path.splitext(os.path.basename(d.name))[0]
            for d2, s2 in zip(dev, ds):
                if d2.form == 'normalized' and d2.set == d.set and os.path.splitext(os.path.basename(d2.name))[0] == stem:
                    pairs.append((float(s), float(s2)))
    if pairs:
        pa_ = np.array(pairs)
        report['dev']['as_received_vs_normalized'] = {'n_pairs': len(pairs), 'mean_abs_diff': float(np.abs(pa_[:, 0] - pa_[:, 1]).mean()),
                                                      'mean_as_received': float(pa_[:, 0].mean()), 'mean_normalized': float(pa_[:, 1].mean())}
    print('dev', json.dumps(report['dev'].get('normalized', {}).get('pooled')), f'{time.time() - t0:.0f}s', flush=True)

    # CIFAKE test (subsample; not evidence of real-world accuracy)
    cx, cy = data.cifake('test')
    if a.quick:
        a.cifake_n = 2
    rng = np.random.default_rng(0)
    pick = np.concatenate([rng.choice(np.where(cy == c)[0], a.cifake_n // 2, replace=False) for c in (0, 1)])
    cl = logits_for(model, [cx[j] for j in pick], spec)
    report['cifake_test'] = metrics(cy[pick], np.array([score_of(l, post) for l in cl]))
    print('cifake', json.dumps(report['cifake_test']), f'{time.time() - t0:.0f}s', flush=True)

    # ONNX export
    os.makedirs(os.path.join(MODELS, mid), exist_ok=True)
    full = os.path.join(MODELS, mid, 'model.full.onnx')  # git-ignored fp32 intermediate
    onnx_path = os.path.join(MODELS, mid, 'model.onnx')
    size = spec['crop']['size']
    torch.onnx.export(model, torch.zeros(1, 3, size, size), full, opset_version=17, input_names=['input'],
                      output_names=['logit'], dynamic_axes={'input': {0: 'batch', 2: 'height', 3: 'width'}, 'logit': {0: 'batch'}},
                      do_constant_folding=True)
    to_fp16_storage(full, onnx_path)
    os.remove(full)
    sha = hashlib.sha256(open(onnx_path, 'rb').read()).hexdigest()
    report['onnx'] = {'bytes': os.path.getsize(onnx_path), 'sha256': sha}

    # Parity fixture: synthetic PNG whose size makes the resize step a no-op.
    os.makedirs(PARITY, exist_ok=True)
    w, h = INFO[mid]['parity_size']
    png = os.path.join(PARITY, f'{mid}.png')
    Image.fromarray(synth_image(w, h, seed={'npr': 1, 'cnnspot': 2, 'probe': 3}[mid])).save(png, optimize=True)
    img = np.asarray(Image.open(png).convert('RGB'))
    x = preprocess(img, spec)
    with torch.no_grad():
        exp = model(torch.from_numpy(x)).reshape(-1).numpy().astype(np.float32)
    fixture = {'model': mid, 'image': f'{mid}.png', 'expected_score': score_of(exp.astype(np.float64), post),
               'expected_logits': [float(v) for v in exp], 'tolerance': 1e-4}
    json.dump(fixture, open(os.path.join(PARITY, f'{mid}.json'), 'w'), indent=1)
    got = onnx_logits(onnx_path, x)
    report['parity'] = {'crops': int(len(exp)), 'max_abs_logit_diff_onnxruntime_node': float(np.abs(got - exp).max()),
                        'png_bytes': os.path.getsize(png)}
    print('parity', report['parity'], flush=True)

    # Manifest entry (other entries, e.g. the lead's provenance, are kept).
    mpath = os.path.join(MODELS, 'manifest.json')
    manifest = json.load(open(mpath)) if os.path.exists(mpath) else {'version': '1', 'models': []}
    entry = {'id': mid, 'method': 'classifier', 'file': f'{mid}/model.onnx', 'sha256': sha, 'weight': a.weight,
             'enabled': a.enabled != 'false', 'inputName': 'input', 'outputName': 'logit', 'preprocess': spec,
             'postprocess': post, 'description': INFO[mid]['description'], 'licence': LICENCE[mid],
             'source': f'trained by genguard: training/ (see models/{mid}/README.md)'}
    old = [m for m in manifest['models'] if m.get('id') == mid]
    if a.enabled is None:
        entry['enabled'] = bool(old[0].get('enabled', True)) if old else True
    if not entry['enabled'] and mid in DISABLED_NOTE:
        entry['description'] += ' ' + DISABLED_NOTE[mid]
    if old:
        entry['weight'] = old[0].get('weight', entry['weight']) if a.weight == 1.0 else a.weight
        manifest['models'] = [entry if m.get('id') == mid else m for m in manifest['models']]
    else:
        manifest['models'].append(entry)
    with open(mpath, 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    report['export_s'] = time.time() - t0
    json.dump(report, open(os.path.join(run, 'metrics.json'), 'w'), indent=1)
    print(json.dumps({k: report[k] for k in ('params', 'onnx', 'parity')}), flush=True)


if __name__ == '__main__':
    main()
