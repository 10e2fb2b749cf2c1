"""Decodes the training pool, CIFAKE and dev-eval once into training/cache/*.pkl."""
import time
import sys, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gg import data

t = time.time()
p = data.pool()
print('pool', len(p), 'cal', sum(i.split == 'cal' for i in p), f'{time.time()-t:.0f}s', flush=True)
for s in ('train', 'test'):
    x, y = data.cifake(s)
    print('cifake', s, x.shape, y.sum(), f'{time.time()-t:.0f}s', flush=True)
d = data.dev()
print('dev', len(d), f'{time.time()-t:.0f}s', flush=True)
