"""Writes models/<id>/README.md (model cards) from training/runs/<id>/metrics.json and the manifest.

  /usr/bin/python3 training/cards.py npr cnnspot probe
"""
from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gg import data  # noqa: E402

REPO = data.REPO

DATA_SECTION = """## Training data

Only the genguard data pool (`shared/datasets/train`, see its README for the exact commits) was used.
Dev-eval sets E2/E4/E5 were used for reporting only, never for fitting, calibration or weights.

| source | class | licence / terms | attribution |
|---|---|---|---|
| ImageNet sample (EliSchwartz/imagenet-sample-images), 1,000 crops | real | ImageNet terms: non-commercial research and education | Deng et al., *ImageNet: A Large-Scale Hierarchical Image Database*, CVPR 2009 |
| metadata-extractor-images (drewnoakes), 215 camera JPEGs | real | "free to use however you wish" | "metadata-extractor-images by Drew Noakes" |
| exif-samples (ianare), 26 | real | CC BY-SA 4.0 | "exif-samples contributors (github.com/ianare/exif-samples), CC BY-SA 4.0" |
| denoising_datasets (majedelhelou): BSD, Urban100, Sun-Hays 80, Set5, Set14 | real | no licence; benchmarks collected for convenience | Martin et al. ICCV 2001; Huang et al. CVPR 2015; Sun & Hays ICCP 2012; Bevilacqua et al. BMVC 2012; Zeyde et al. 2010 |
| Manga109 crops (40 pages) | not AI (human art) | academic research only; do not redistribute | Matsui et al. 2017; Aizawa et al. 2020 |
| StableDiffusion-CheatSheet (SupaGruen), 300 grids = 1,200 tiles | AI | MIT, "Copyright (c) 2023 SupaGruen" | keep the MIT notice |
| awesome-gpt4o-images `cases/` (jamez-bondos), 100 | AI | CC BY 4.0 | "© 2025 Jamez Bondos, CC BY 4.0"; per-image credits in `train/ai/labels.tsv` (`attribution`) |
| Awesome-Nano-Banana-images (PicoTrex), 144 | AI | Apache-2.0 / CC BY 4.0 | "PicoTrex/Awesome-Nano-Banana-images contributors" |
| ComfyUI_examples (comfyanonymous), 57 | AI | 0BSD-style | none required |
| CIFAKE (jordan-bird), 32×32 | real / AI | MIT | Krizhevsky & Hinton 2009; Bird & Lotfi, IEEE Access 2024 |

{cifake_use}

**Licence caveat for the lead:** the weights were fitted on ImageNet images (non-commercial research terms)
and on 40 Manga109 crops (academic research only). Whether weights trained on them may ship in an
Apache-2.0 package is a policy decision; `training/gg/data.py` (`SOURCE_SHARE`) can drop a source and
`training/README.md` retrains in about an hour.

Split: 20 % of the pool (by source file; the four tiles of one SD grid stay together) is held back as the
**cal** split for Platt scaling and ensemble weights; the rest trains. Each epoch samples per source
(`SOURCE_SHARE`: AI = SD tiles 40 %, Nano Banana 27 %, GPT-4o 18 %, ComfyUI 15 %; not-AI = ImageNet 45 %,
denoising 23 %, metadata-extractor 18 %, Manga109 10 %, exif-samples 4 %) so no source dominates its class.
"""


def fmt(x, p=3):
    return '–' if x is None or x != x else f'{x:.{p}f}'


def table(dev: dict) -> str:
    lines = ['| set | form | n (AI) | AUC [95 % CI] | TPR @ 5 % FPR | acc @ 0.5 |', '|---|---|---|---|---|---|']
    for form in ('normalized', 'as-received'):
        for s in data.DEV_SETS + ['pooled']:
            m = dev[form][s]
            ci = m['auc_ci95']
            ci_s = f" [{fmt(ci[0], 2)}–{fmt(ci[1], 2)}]" if ci[0] == ci[0] else ''
            lines.append(f"| {s} | {form} | {m['n']} ({m['n_ai']}) | {fmt(m['auc'])}{ci_s} | {fmt(m['tpr_at_5fpr'], 2)} | {fmt(m['acc_at_0.5'], 2)} |")
    return '\n'.join(lines)


def card(mid: str, static: dict) -> str:
    r = json.load(open(os.path.join(REPO, 'training', 'runs', mid, 'metrics.json')))
    man = {m['id']: m for m in json.load(open(os.path.join(REPO, 'models', 'manifest.json')))['models']}[mid]
    p = man['postprocess']['platt']
    arn = r['dev'].get('as_received_vs_normalized', {})
    ens_path = os.path.join(REPO, 'training', 'runs', 'ensemble.json')
    ens = json.load(open(ens_path)) if os.path.exists(ens_path) else None
    ens_line = ''
    if ens and mid in ens['members']:
        ens_line = (f"Ensemble weight **{man['weight']}** (non-negative logistic regression on the members' calibrated "
                    f"logits of the cal split; members {', '.join(ens['members'])}, weights {ens['weights']}).")
    return f"""# `{mid}` — {static['title']}

{static['method']}

| | |
|---|---|
| file | `models/{mid}/model.onnx` ({r['onnx']['bytes'] / 1e6:.2f} MB, weights stored fp16, computed fp32) |
| sha256 | `{r['onnx']['sha256']}` |
| parameters | {r['params']:,} |
| ONNX | opset 17, input `input` float32 NCHW [batch, 3, H, W] (batch, H, W dynamic; the manifest feeds {man['preprocess']['crop']['size']}×{man['preprocess']['crop']['size']} crops{static.get('hw_note', '')}), output `logit` [batch, 1] (raw logit, AI = positive) |
| preprocess | `{json.dumps(man['preprocess'])}` |
| postprocess | sigmoid, Platt a = {p['a']}, b = {p['b']}, `{man['postprocess']['aggregate']}` over crops |
| enabled | {man['enabled']} |

{static.get('status', '')}

{static['backbone']}

{DATA_SECTION.format(cifake_use=static['cifake'])}

## Augmentation

{static['aug']}

## Calibration

Platt scaling `c = a·l + b` on the mean raw logit over crops, fitted on deployment-like views of the
held-back cal split (same augmentation family, fixed seed: 30 % downscale 0.5–1×, 10 % blur, 70 % JPEG q60–100,
10 % WebP), so 0.5 means even odds *on that distribution*: a = {p['a']}, b = {p['b']}.
Cal split after calibration: AUC {fmt(r['cal']['auc'])}, TPR@5 %FPR {fmt(r['cal']['tpr_at_5fpr'], 2)}, acc@0.5 {fmt(r['cal']['acc_at_0.5'], 2)} (n = {r['cal']['n']}).
Mean score per cal source: {', '.join(f'{k.split("/")[-1]} {v:.2f}' for k, v in r['cal']['per_source_mean_score'].items())}.
{ens_line}

## Measured (Python mirror of the pipeline, PIL resizing; `genguard eval` numbers may differ slightly)

**Bottom line:** pooled dev-eval `normalized` AUC {fmt(r['dev']['normalized']['pooled']['auc'])}, TPR@5 %FPR
{fmt(r['dev']['normalized']['pooled']['tpr_at_5fpr'], 2)} — statistically indistinguishable from chance and far below the
0.90 / 0.6 target. The model separates the held-back part of its own training pool (cal AUC {fmt(r['cal']['auc'])}) but does
not transfer to the independent dev-eval sets; its score is weak evidence at best.

Dev-eval (reporting only). The `as-received` sample is tiny (24 images) and is not an accuracy figure.

{table(r['dev'])}

As-received vs normalized, same images: mean |Δscore| {fmt(arn.get('mean_abs_diff'))} over {arn.get('n_pairs', 0)} pairs
(mean score {fmt(arn.get('mean_as_received'))} as received vs {fmt(arn.get('mean_normalized'))} normalized).

CIFAKE test (1,000 sampled, balanced; **not** evidence of real-world accuracy): AUC {fmt(r['cifake_test']['auc'])},
TPR@5 %FPR {fmt(r['cifake_test']['tpr_at_5fpr'], 2)}. {static['cifake_note']}

## Known weaknesses

{static['weak']}

Reproduce: see `training/README.md`. Checkpoint used: `{r['ckpt']}`.
"""


STATIC = {
    'npr': {
        'title': 'NPR (Neighboring Pixel Relationships)',
        'method': ('Method: Tan et al., *Rethinking the Up-Sampling Operations in CNN-based Generative Network for '
                   'Generalizable Deepfake Detection*, CVPR 2024 (github.com/chuangchuangtan/NPR-DeepfakeDetection). '
                   'The network sees only the residual `x − up₂(down₂(x))` (nearest ×0.5 then ×2, multiplied by 2/3 as '
                   'in the official `networks/resnet.py`), which exposes the 2×2 pattern that up-sampling layers of '
                   'generators leave. Architecture as the official code: 3×3 stride-2 conv (64 ch), BN, ReLU, max-pool, '
                   'ResNet-50 layer1 and layer2 (Bottleneck ×3, ×4), global average pool, fc 512→1. '
                   'No resize at inference: up to four 192×192 crops at native resolution (grid), mean of logits.'),
        'status': ('**Disabled by default (`"enabled": false`).** On the held-back cal split the ensemble of cnnspot + probe '
                   'reaches AUC 0.913 and adding NPR gives 0.913 (its non-negative logistic-regression weight is 0.065, '
                   'kept in the manifest for whoever enables it), while its four 192² crops cost 37 ms on 2 idle cores '
                   '(onnxruntime-node; ~130 ms on the loaded machine) — more than cnnspot (16 ms) and probe (5.5 ms) together. On dev-eval it is at '
                   'chance like the others (table below). Fewer crops (`count` 1 or 2) cut the cost proportionally.'),
        'backbone': 'Backbone: none pretrained — trained from scratch (as the authors do), ImageNet mean/std input normalisation.',
        'cifake': 'CIFAKE was **not** used to train NPR (32×32 images have no native-resolution crop).',
        'hw_note': '; H and W must be even',
        'aug': ('Both classes alike: random downscale/upscale 0.5–1.5× (p 0.3, never below the 160 px training crop; '
                'bilinear/bicubic/Lanczos), Gaussian blur σ 0.2–2 (p 0.1), JPEG q60–100 4:2:0/4:4:4 (p 0.6) or '
                'WebP q70–100 (p 0.1), random 160×160 crop, horizontal flip. Metadata never reaches the model. '
                'AdamW lr 5e-4 one-cycle, weight decay 1e-4, batch 32, 2,400 source-balanced samples per epoch.'),
        'cifake_note': 'The 32×32 images are zero-padded into one 192 crop, far from the training distribution.',
        'weak': ('- Trained on ~2,400 images for a few CPU epochs; the paper trains on 72k+ images — treat scores as weak evidence.\n'
                 '- Any resampling (screenshots, platform downscaling, our E2/E4 `normalized` resize) weakens or erases the '
                 'up-sampling trace; JPEG at low quality does too.\n'
                 '- Real images that were upscaled with nearest/bilinear kernels can look "generated".\n'
                 '- Generators without 2× up-sampling layers (some transformers/VAE decoders) leave a weaker trace.'),
    },
    'cnnspot': {
        'title': 'CNNSpot recipe on MobileNetV2',
        'method': ('Method: Wang et al., *CNN-generated images are surprisingly easy to spot… for now*, CVPR 2020 '
                   '(github.com/peterwang512/CNNDetection): an ImageNet-pretrained classifier fine-tuned end to end, real '
                   'vs generated, with Gaussian-blur and JPEG augmentation, tested without resizing. Here: MobileNetV2 '
                   'backbone, global average pool, dropout 0.2, fc 1280→1; up to four 192×192 native-resolution crops '
                   '(grid), mean of logits.'),
        'backbone': ('Backbone: Keras MobileNetV2 (width 1.0, Sandler et al. 2018) from the `nsfwjs` npm package 4.3.0 '
                     '(MIT, © 2019 Infinite Red, Inc.; notice in `LICENSE-nsfwjs.txt` beside the model), model `mobilenet_v2` (TFJS layers model, Keras 2.2.4, weights stored as '
                     '8-bit affine-quantised). What we checked: the Keras config marks every layer before `block_11` '
                     '(Conv1 … block_10) `trainable: false`, i.e. those layers were frozen when nsfwjs fine-tuned the '
                     'ImageNet model for its 5 NSFW classes; block_11 … Conv_1 and the dense head were trained on NSFW '
                     'data. The original Keras ImageNet file is not obtainable here, so a bit-level comparison was not '
                     'possible; the 8-bit quantisation means the frozen layers equal the ImageNet weights only up to '
                     'quantisation error. Our PyTorch port (asymmetric stride-2 padding as Keras, BN ε 1e-3) reproduces '
                     'the nsfwjs TFJS output to 8e-6 (`training/verify_nsfwjs_port.py`). The nsfwjs head is dropped. '
                     'Input scaling x/127.5 − 1 (Keras MobileNetV2 ImageNet convention; nsfwjs itself feeds x/255).'),
        'cifake': 'CIFAKE was **not** used to train this model (32×32 images have no native-resolution crop).',
        'hw_note': '; H and W must be multiples of 32 to match the Keras padding',
        'aug': ('Both classes alike: random resize 0.5–1.5× (p 0.5; bilinear/bicubic/Lanczos), Gaussian blur σ 0.2–3 '
                '(p 0.3), JPEG q60–100 4:2:0/4:4:4 (p 0.7) or WebP q70–100 (p 0.1), random 192×192 crop '
                '(zero-padded like the pipeline when smaller), horizontal flip. AdamW, lr 1e-4 backbone / 1e-3 head, '
                'one-cycle, weight decay 1e-4, batch 32, 2,400 source-balanced samples per epoch.'),
        'cifake_note': 'The 32×32 images are zero-padded into one 192 crop, far from the training distribution.',
        'weak': ('- Small training pool (~2,400 images); the AI side is dominated by Stable Diffusion art styles, so '
                 'illustrations lean "AI" despite the 40 Manga109 negatives.\n'
                 '- Sees 192 px windows, so it reads texture, not layout; heavy resampling/screenshots reduce the signal.\n'
                 '- Backbone weights are 8-bit quantised upstream.'),
    },
    'probe': {
        'title': 'UnivFD-style linear probe on frozen MobileNetV2 features',
        'method': ('Method: Ojha, Li & Lee, *Towards Universal Fake Image Detectors that Generalize Across Generative '
                   'Models*, CVPR 2023 (github.com/WisconsinAIVision/UniversalFakeDetect): a frozen pretrained feature '
                   'space and a linear classifier on top. CLIP ViT-L/14 is not obtainable here, so the features are the '
                   'frozen nsfwjs MobileNetV2 (see the cnnspot card for what we verified about it): global-average-pooled '
                   'outputs of block_2 (24), block_5 (32), block_12 (96), block_16 (320) and the final 1280-channel map, '
                   '1,752 values, followed by one linear layer (standardisation folded in). Input: shorter side resized '
                   'to 224 (Lanczos), centre 224×224 crop, x/127.5 − 1.'),
        'backbone': ('Backbone: frozen Keras MobileNetV2 from `nsfwjs` 4.3.0 (MIT, © 2019 Infinite Red, Inc.; notice in `LICENSE-nsfwjs.txt`); layers up to block_10 '
                     'are marked frozen-from-ImageNet in its Keras config, later layers were tuned by nsfwjs on NSFW '
                     'classes. Far weaker features than CLIP ViT-L/14, which UnivFD relies on.'),
        'cifake': ('CIFAKE: 1,000 training images (500 + 500) were added, weighted to 10 % of the training weight, so '
                   'the 32×32 domain cannot dominate.'),
        'aug': ('Features of 2 augmented views per training image (both classes alike: resize 0.5–1.5× p 0.5, blur '
                'σ 0.2–3 p 0.3, JPEG q60–100 p 0.7 or WebP p 0.1), then the pipeline resize/crop. Logistic regression '
                'with sample weights for source balance; L2 strength chosen by grouped 5-fold cross-validation on the '
                'training split (not on dev-eval).'),
        'cifake_note': 'CIFAKE images are upscaled 7× to 224 by the pipeline.',
        'hw_note': '; other sizes change the pooled features, keep 224',
        'weak': ('- Semantic/style features: it learns "looks like the AI pool" (stylised SD art, glossy renders) rather '
                 'than generator traces, so photo-realistic generations are hard and illustrations lean "AI".\n'
                 '- MobileNetV2 features are much weaker than CLIP ViT-L/14; expect well below published UnivFD numbers.'),
    },
}

if __name__ == '__main__':
    for mid in sys.argv[1:]:
        path = os.path.join(REPO, 'models', mid, 'README.md')
        with open(path, 'w') as f:
            f.write(card(mid, STATIC[mid]))
        print('wrote', path)
