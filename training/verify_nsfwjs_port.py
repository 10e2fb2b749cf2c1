"""Checks the PyTorch port of nsfwjs' MobileNetV2 against TFJS itself (run via node, see README)."""
import json, os, subprocess, sys
import numpy as np, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gg.models import mobilenet_from_nsfwjs, NsfwHead
from gg import data

mdir = os.path.join(data.CACHE, 'nsfwjs', 'mobilenet_v2')
net, rest = mobilenet_from_nsfwjs(mdir)
print('unused weights (nsfwjs head):', sorted(rest))
net.eval(); head = NsfwHead(rest).eval()
rng = np.random.default_rng(0)
x = rng.random((2, 224, 224, 3), dtype=np.float32)
x.tofile('/tmp/port_in.bin')
with torch.no_grad():
    f, _ = net.forward_features(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous())
    p = head(f).numpy()
node_dir = sys.argv[1] if len(sys.argv) > 1 else '/tmp/nsfwcheck'
js = f"""
const tf=require('@tensorflow/tfjs');const fs=require('fs');
(async()=>{{const m=await tf.loadLayersModel(tf.io.fromMemory(JSON.parse(fs.readFileSync('{mdir}/model.json')).modelTopology,
 JSON.parse(fs.readFileSync('{mdir}/model.json')).weightsManifest[0].weights, new Uint8Array(fs.readFileSync('{mdir}/group1-shard1of1.bin')).buffer));
const b=fs.readFileSync('/tmp/port_in.bin');const x=tf.tensor4d(new Float32Array(b.buffer,b.byteOffset,b.length/4),[2,224,224,3]);
console.log(JSON.stringify(Array.from(await m.predict(x).data())));}})();
"""
out = subprocess.run(['node', '-e', js], cwd=node_dir, capture_output=True, text=True)
tfjs = np.array(json.loads(out.stdout.strip().splitlines()[-1])).reshape(2, 5)
print('torch', p.round(5)); print('tfjs ', tfjs.round(5)); print('max abs diff', np.abs(p - tfjs).max())
