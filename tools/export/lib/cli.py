"""The command line every exporter shares:

  <script> --checkpoint … [--out DIR] [--id ID] [--write-manifest models/manifest.json]
      official weights → ONNX file(s) under --out (default models/byo/, git-ignored) + manifest entry
  <script> --self-test
      the exact architecture (widths shrunk where noted) with seeded random weights → ONNX +
      synthetic PNGs + expected outputs of the official pipeline in test/fixtures/parity/byo/
  <script> --random-weights --out DIR
      the full-size architecture with random weights (for bench/methods.bench.ts), entry on stdout
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch

from .common import DEFAULT_OUT, BYO_FIXTURES, emit_entry, log, relative_to_manifest, save_png, write_fixture

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


def parser(doc: str, default_id: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument('--checkpoint', nargs='+', type=Path, help='official checkpoint file(s)')
    mode.add_argument('--self-test', action='store_true', help='write the parity fixtures (random weights)')
    mode.add_argument('--random-weights', action='store_true', help='full-size random-weight export (bench)')
    p.add_argument('--out', type=Path, default=DEFAULT_OUT, help=f'output folder (default {DEFAULT_OUT})')
    p.add_argument('--id', default=default_id, help=f'manifest id (default {default_id})')
    p.add_argument('--write-manifest', type=Path, help='merge the entry into this manifest.json')
    p.add_argument('--seed', type=int, default=0, help='seed of --self-test/--random-weights weights')
    return p


def file_field(path: Path, args) -> str:
    """How the entry names the file: relative to the manifest it goes into (or models/)."""
    if args.random_weights and not args.write_manifest:
        return path.name
    return relative_to_manifest(path, args.write_manifest)


def finish(entry: dict, args) -> None:
    emit_entry(entry, args.write_manifest)


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def fixture_images(method: str, images: dict) -> dict:
    """Saves the synthetic PNGs beside the fixture JSON; returns name → file name."""
    out = {}
    for name, img in images.items():
        file = f'{method}-{name}.png'
        save_png(img, BYO_FIXTURES / file)
        out[name] = file
    return out


def done_fixture(method: str, data: dict) -> None:
    path = write_fixture(method, data)
    sizes = sorted((p.name, p.stat().st_size) for p in BYO_FIXTURES.glob(f'{method}*'))
    log(f'wrote {path}')
    for name, size in sizes:
        log(f'  {name}: {size / 1024:.1f} KiB')
    big = [n for n, s in sizes if s > 1024 * 1024]
    if big:
        log(f'  warning: over 1 MiB: {", ".join(big)}')


def main_guard(fn):
    try:
        fn()
    except KeyboardInterrupt:
        sys.exit(130)
