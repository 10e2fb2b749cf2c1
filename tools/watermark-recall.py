#!/usr/bin/python3
"""
Measures how often src/detector/provenance/invisible-watermark.ts finds the invisible-watermark
"dwtDct" mark (recall), and how close unmarked images come to it (false positives).

Recall: photos from ../shared/datasets/train/real (never dev-eval) are scaled to cover and
centre-cropped to generator sizes, marked with every known message the way the generator code
does (the pipelines of tools/make-watermark-fixtures.py: diffusers SDXL float32 with and without
the RGB->BGR flip, generative-models SDXL and FLUX.1 float32 truncated, SD 1.x/2.x scripts uint8
BGR), written as PNG to a temporary folder (deleted afterwards; nothing lands in the repository)
and decoded by our TypeScript decoder through `node --import tsx`. A photo of 192-256 pixels
scaled to 1024 is smoother than real generator output, which makes these numbers pessimistic.

False positives: every image of ../shared/datasets except CIFAKE (train/real, train/ai,
train/human-art, fixtures/provenance, dev-eval) decoded at its stored size (any size, below
upstream's 256x256 floor too, as the real-photo sweep test does), plus the unmarked scaled hosts;
reported as the highest agreement per message and rule.

Requirements: Debian's python3-opencv, python3-pywt, python3-numpy (run with /usr/bin/python3), and
`npm ci` done in the repository. The embedder is a vectorised copy of upstream EmbedMaxDct.encode;
before use it is checked to write the same pixels as upstream maxDct.py (--upstream, see
tools/make-watermark-fixtures.py) or, without it, as that file's loop re-implementation.

  /usr/bin/python3 tools/watermark-recall.py                       # 60 hosts, 4 sizes
  /usr/bin/python3 tools/watermark-recall.py --hosts 150 --seed 2 --json /tmp/recall.json
  /usr/bin/python3 tools/watermark-recall.py --module /tmp/old/invisible-watermark.ts  # an older decoder
"""
import argparse
import collections
import csv
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np
import pywt

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
DATASETS = os.path.abspath(os.path.join(REPO, '..', 'shared', 'datasets'))
DEFAULT_MODULE = os.path.join(REPO, 'src', 'detector', 'provenance', 'invisible-watermark.ts')
DEFAULT_SIZES = '512x512,768x768,1024x1024,832x1216'
IMAGE_MAGIC = (b'\x89PNG', b'\xff\xd8\xff', b'RIFF', b'GIF8', b'II*\x00', b'MM\x00*')


def load_fixture_tool():
    spec = importlib.util.spec_from_file_location('make_watermark_fixtures', os.path.join(REPO, 'tools', 'make-watermark-fixtures.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIXTURES = load_fixture_tool()
MESSAGES = FIXTURES.MESSAGES


def embed_ll(ll, bits):
    """EmbedMaxDct.encode_frame over all 4x4 blocks at once: same float arithmetic, same argmax ties."""
    rows, cols = ll.shape[0] // 4, ll.shape[1] // 4
    blocks = ll[:rows * 4, :cols * 4].reshape(rows, 4, cols, 4).transpose(0, 2, 1, 3).reshape(rows * cols, 16)
    index = np.arange(rows * cols)
    pos = np.argmax(np.abs(blocks[:, 1:]), axis=1) + 1
    value = blocks[index, pos]
    bit = np.asarray(bits, dtype=np.int64)[index % len(bits)]
    half = np.where(bit == 1, np.array(0.5, dtype=ll.dtype), np.array(0.0, dtype=ll.dtype))
    q = ((np.abs(value) // 36 + 0.25 + half) * 36).astype(ll.dtype)
    blocks[index, pos] = np.where(value >= 0, q, -q)
    ll[:rows * 4, :cols * 4] = blocks.reshape(rows, cols, 4, 4).transpose(0, 2, 1, 3).reshape(rows * 4, cols * 4)


class VectorisedMaxDct:
    def encode(self, bgr, bits):
        rows, cols = bgr.shape[0] // 4 * 4, bgr.shape[1] // 4 * 4
        yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)
        ll, (h, v, d) = pywt.dwt2(yuv[:rows, :cols, 1], 'haar')
        embed_ll(ll, bits)
        yuv[:rows, :cols, 1] = pywt.idwt2((ll, (v, h, d)), 'haar')  # upstream's band order
        return cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR)


def check_encoder(codec, host, upstream):
    """Aborts unless the vectorised encoder writes exactly the reference's pixels (uint8 and float32)."""
    reference = FIXTURES.UpstreamMaxDct(upstream, MESSAGES['sdxl']) if upstream else FIXTURES.MaxDctReimplementation(MESSAGES['sdxl'])
    for dtype in (np.uint8, np.float32):
        bgr = np.ascontiguousarray(host[:, :, ::-1]).astype(dtype)
        theirs = reference.encode(bgr.copy())
        ours = codec.encode(bgr.copy(), MESSAGES['sdxl'])
        if theirs.dtype != ours.dtype or not np.array_equal(theirs, ours):
            sys.exit(f'vectorised encoder differs from {"upstream maxDct.py" if upstream else "the re-implementation"} ({dtype.__name__})')
    return 'upstream maxDct.py' if upstream else 'the re-implementation in make-watermark-fixtures.py'


def pipelines(codec):
    # (message id, pipeline name, function of float32 RGB host -> uint8 RGB as the generator saves it)
    return [
        ('sdxl', 'diffusers', lambda rgb: FIXTURES.diffusers(codec, rgb, MESSAGES['sdxl'], flip=True)),
        ('sdxl', 'diffusers-rgb', lambda rgb: FIXTURES.diffusers(codec, rgb, MESSAGES['sdxl'], flip=False)),
        ('sdxl', 'generative-models', lambda rgb: FIXTURES.sgm(codec, rgb, MESSAGES['sdxl'])),
        ('flux', 'flux-reference', lambda rgb: FIXTURES.sgm(codec, rgb, MESSAGES['flux'])),
        ('sd1', 'sd1-scripts', lambda rgb: FIXTURES.sd_scripts(codec, rgb, MESSAGES['sd1'])),
        ('sd2', 'sd2-scripts', lambda rgb: FIXTURES.sd_scripts(codec, rgb, MESSAGES['sd2'])),
    ]


def host_paths(seed):
    root = os.path.join(DATASETS, 'train', 'real')
    with open(os.path.join(root, 'labels.tsv'), encoding='utf-8') as f:
        paths = sorted(row['path'] for row in csv.DictReader(f, delimiter='\t'))
    np.random.default_rng(seed).shuffle(paths)
    return root, paths


def load_hosts(count, seed, min_side):
    root, paths = host_paths(seed)
    hosts = []
    for path in paths:
        bgr = cv2.imread(os.path.join(root, path), cv2.IMREAD_COLOR)
        if bgr is None or min(bgr.shape[:2]) < min_side:
            continue
        hosts.append((path, np.ascontiguousarray(bgr[:, :, ::-1]).astype(np.float32)))
        if len(hosts) == count:
            break
    return hosts


def cover(rgb, width, height):
    """Scale to cover width x height, centre-crop; float32 RGB 0..255 like a decoder's output."""
    h, w = rgb.shape[:2]
    scale = max(width / w, height / h)
    sw, sh = max(width, round(w * scale)), max(height, round(h * scale))
    scaled = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
    x, y = (sw - width) // 2, (sh - height) // 2
    return np.clip(scaled[y:y + height, x:x + width], 0, 255).astype(np.float32)


def dataset_images():
    files = []
    for folder, _, names in os.walk(DATASETS):
        rel = os.path.relpath(folder, DATASETS)
        if rel.split(os.sep)[:2] == ['train', 'cifake']:
            continue
        for name in sorted(names):
            path = os.path.join(folder, name)
            with open(path, 'rb') as f:
                head = f.read(4)
            if head.startswith(IMAGE_MAGIC):
                files.append(path)
    return sorted(files)


# Runs in node with tsx; argv: decoder module, manifest. Prints one JSON line per image.
NODE_SCRIPT = r"""
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
const [modulePath, manifestPath] = process.argv.slice(2);
const wm = await import(pathToFileURL(modulePath).href);
const sharp = createRequire(process.cwd() + '/package.json')('sharp');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
console.log(JSON.stringify({ thresholds: Object.fromEntries(wm.KNOWN_WATERMARKS.map((w) => [w.id, { majority: w.maxDistance, banded: w.bandedMaxDistance ?? null }])) }));

// Older decoders have no knownWatermarkReadings: read them by upstream's majority only.
function readings(blocks) {
  if (wm.knownWatermarkReadings) return wm.knownWatermarkReadings(blocks);
  const out = [];
  for (const w of wm.KNOWN_WATERMARKS) for (const view of w.views) {
    const bits = wm.voteBits(blocks[view], w.bits.length);
    out.push({ watermark: w, view, rule: 'majority', bits: w.bits.length, agreeing: bits.filter((b, i) => b === w.bits[i]).length });
  }
  return out;
}
function best(list) {
  const out = {};
  for (const r of list) {
    const key = `${r.watermark.id}/${r.rule}`;
    if (!out[key] || r.agreeing > out[key].agreeing) out[key] = { agreeing: r.agreeing, bits: r.bits, view: r.view };
  }
  return out;
}
function summary(match) {
  const r = match.found ?? match.near;
  return r ? { state: match.found ? 'found' : 'near', id: r.watermark.id, rule: r.rule ?? 'majority', agreeing: r.agreeing, bits: r.bits, view: r.view } : { state: 'none' };
}
for (const entry of manifest) {
  const line = { i: entry.i };
  try {
    const bytes = readFileSync(entry.file);
    if (entry.verdict) {
      const t = performance.now();
      const result = await wm.readInvisibleWatermark(bytes);
      line.ms = performance.now() - t;
      line.verdict = result.checked ? summary(result.match) : { state: 'unchecked' };
    }
    const { data, info } = await sharp(bytes, { ignoreIcc: true, limitInputPixels: false }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.channels >= 3 && info.width >= 8 && info.height >= 8) {
      const blocks = wm.decodeBlockBits({ data, width: info.width, height: info.height, channels: info.channels });
      line.best = best(readings(blocks));
      line.match = summary(wm.matchKnownWatermarks(blocks));
    } else line.skipped = `${info.width}x${info.height}x${info.channels}`;
  } catch (error) {
    line.error = String(error?.message ?? error);
  }
  console.log(JSON.stringify(line));
}
"""


def run_node(module, manifest, workdir):
    script = os.path.join(workdir, 'decode.mjs')
    with open(script, 'w') as f:
        f.write(NODE_SCRIPT)
    manifest_path = os.path.join(workdir, f'manifest-{len(os.listdir(workdir))}.json')
    with open(manifest_path, 'w') as f:
        json.dump(manifest, f)
    out = subprocess.run(['node', '--import', 'tsx', script, module, manifest_path], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f'node failed ({out.returncode}):\n{out.stderr[-3000:]}')
    results = {}
    for line in out.stdout.splitlines():
        if line.startswith('{'):
            entry = json.loads(line)
            if 'thresholds' in entry:
                THRESHOLDS.update(entry['thresholds'])
            else:
                results[entry['i']] = entry
    if len(results) != len(manifest):
        sys.exit(f'node decoded {len(results)} of {len(manifest)} images:\n{out.stderr[-3000:]}')
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--hosts', type=int, default=60, help='photos from train/real to mark (default 60)')
    parser.add_argument('--seed', type=int, default=1, help='order in which train/real photos are taken')
    parser.add_argument('--min-side', type=int, default=150, help='skip smaller photos')
    parser.add_argument('--sizes', default=DEFAULT_SIZES, help=f'WxH list (default {DEFAULT_SIZES})')
    parser.add_argument('--module', default=DEFAULT_MODULE, help='decoder module to measure (default: the repository one)')
    parser.add_argument('--upstream', default='/tmp/imwatermark-ref', help='folder with upstream maxDct.py, if present')
    parser.add_argument('--no-datasets', action='store_true', help='skip the false-positive sweep over ../shared/datasets')
    parser.add_argument('--json', help='write every per-image result here')
    parser.add_argument('--keep', help='write the marked PNGs into this folder (outside the repository) instead of a temporary one')
    args = parser.parse_args()
    sizes = [tuple(int(n) for n in s.split('x')) for s in args.sizes.split(',')]
    module = os.path.abspath(args.module)
    upstream_file = os.path.join(args.upstream, 'maxDct.py') if args.upstream else None
    upstream = FIXTURES.load_upstream(args.upstream) if upstream_file and os.path.exists(upstream_file) else None

    codec = VectorisedMaxDct()
    hosts = load_hosts(args.hosts, args.seed, args.min_side)
    checked_against = check_encoder(codec, cover(hosts[0][1], 512, 512), upstream)
    print(f'{len(hosts)} hosts from train/real (seed {args.seed}), sizes {args.sizes}; encoder identical to {checked_against}')
    print(f'decoder: {os.path.relpath(module, REPO)}')

    with tempfile.TemporaryDirectory(prefix='watermark-recall-') as tmp:
        outdir = os.path.abspath(args.keep) if args.keep else tmp
        if outdir == REPO or outdir.startswith(REPO + os.sep):
            sys.exit('--keep must be outside the repository')
        os.makedirs(outdir, exist_ok=True)
        manifest, meta = [], []
        for h, (path, rgb) in enumerate(hosts):
            for width, height in sizes:
                host = cover(rgb, width, height)
                cases = [(None, 'unmarked', np.round(host).astype(np.uint8))]
                cases += [(msg, name, fn(host)) for msg, name, fn in pipelines(codec)]
                for msg, name, pixels in cases:
                    file = os.path.join(outdir, f'{h:04d}-{width}x{height}-{name}.png')
                    cv2.imwrite(file, np.ascontiguousarray(pixels[:, :, ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 1])
                    manifest.append({'i': len(manifest), 'file': file, 'verdict': True})
                    meta.append({'host': path, 'size': f'{width}x{height}', 'message': msg, 'pipeline': name})
        results = run_node(module, manifest, tmp)

        sweep_meta, sweep = [], {}
        if not args.no_datasets:
            files = dataset_images()
            sweep = run_node(module, [{'i': i, 'file': f, 'verdict': False} for i, f in enumerate(files)], tmp)
            sweep_meta = [os.path.relpath(f, DATASETS) for f in files]

    report(meta, results, sweep_meta, sweep)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'marked': [dict(m, **results[i]) for i, m in enumerate(meta)],
                       'datasets': [dict(file=m, **sweep[i]) for i, m in enumerate(sweep_meta)]}, f)


def report(meta, results, sweep_meta, sweep):
    lengths = {k: len(v) for k, v in MESSAGES.items()}
    # Recall: the public verdict, and which rule alone would have found it.
    table = collections.defaultdict(collections.Counter)
    timing = collections.defaultdict(list)
    for i, m in enumerate(meta):
        r = results[i]
        if 'ms' in r:
            timing[m['size']].append(r['ms'])
        if m['message'] is None:
            continue
        verdict = r.get('verdict', {})
        found = verdict.get('state') == 'found' and verdict.get('id') == m['message']
        for key in ((m['message'], m['pipeline'], m['size']), (m['message'], m['pipeline'], 'all'), (m['message'], '*', m['size']), (m['message'], '*', 'all')):
            c = table[key]
            c['n'] += 1
            c['found'] += found
            best = r.get('best', {})
            maj = best.get(f"{m['message']}/majority", {}).get('agreeing', 0)
            c['majority alone'] += maj >= lengths[m['message']] - THRESHOLDS[m['message']]['majority']
            c['wrong'] += verdict.get('state') == 'found' and verdict.get('id') != m['message']
    sizes = sorted({k[2] for k in table if k[2] != 'all'}, key=lambda v: [int(n) for n in v.split('x')])
    rows = sorted({k[:2] for k in table}, key=lambda k: (k[0], k[1] != '*', k[1]))
    for column, title in (('found', 'found (readInvisibleWatermark on the PNG)'), ('majority alone', "upstream's majority vote alone within maxDistance")):
        print(f'\nRecall, {title}')
        print(f"{'message':7} {'pipeline':18} {'all':>14} " + ' '.join(f'{v:>10}' for v in sizes))
        for msg, pipe in rows:
            c = table[(msg, pipe, 'all')]
            cells = ' '.join(f"{100 * table[(msg, pipe, v)][column] / max(1, table[(msg, pipe, v)]['n']):9.1f}%" for v in sizes)
            print(f"{msg:7} {pipe:18} {c[column]:5d}/{c['n']:<4d}{100 * c[column] / c['n']:4.0f}% {cells}")
    wrong = sum(table[k]['wrong'] for k in table if k[1] == '*' and k[2] == 'all')
    print(f'marked images found as another message: {wrong}')
    print('\nreadInvisibleWatermark time per PNG (ms, median): ' + ', '.join(f'{s} {np.median(v):.1f}' for s, v in sorted(timing.items())))

    # False positives: highest agreement per message and rule over unmarked images.
    def highest(entries):
        top = {}
        hits = []
        for name, r in entries:
            if r.get('match', {}).get('state') in ('found', 'near'):
                hits.append(f"{name}: {r['match']}")
            for key, b in r.get('best', {}).items():
                if key not in top or b['agreeing'] > top[key][0]:
                    top[key] = (b['agreeing'], b['bits'], name, b['view'])
        return top, hits

    groups = [('unmarked scaled hosts', [(f"{m['host']} @{m['size']}", results[i]) for i, m in enumerate(meta) if m['message'] is None])]
    if sweep_meta:
        groups.append((f'../shared/datasets except CIFAKE ({len(sweep_meta)} files)', [(m, sweep[i]) for i, m in enumerate(sweep_meta)]))
        errors = [f'{m}: {sweep[i].get("error") or sweep[i].get("skipped")}' for i, m in enumerate(sweep_meta) if 'best' not in sweep[i]]
        if errors:
            print(f'\n{len(errors)} dataset files not read (under 8x8 pixels, or unreadable): ' + '; '.join(errors[:5]) + (' …' if len(errors) > 5 else ''))
    for title, entries in groups:
        top, hits = highest(entries)
        print(f'\nHighest agreement on {title} (a found or near reading: {len(hits)})')
        for h in hits[:10]:
            print(f'  {h}')
        for key in sorted(top):
            agreeing, bits, name, view = top[key]
            msg, rule = key.split('/')
            needed = bits - THRESHOLDS[msg][rule]
            print(f'  {key:15} {agreeing:3d}/{bits} (needs {needed}, {needed - agreeing} short)  {name} [{view}]')


# Most differing bits per message and rule, as the decoder's KNOWN_WATERMARKS says (read by node).
THRESHOLDS = {}

if __name__ == '__main__':
    main()
