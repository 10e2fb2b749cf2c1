// Median latency of one model file on a batch of N crops: node training/bench_onnx.cjs models/x/model.onnx N SIZE
const ort = require('onnxruntime-node');
(async () => {
  const [file, n, size] = [process.argv[2], +process.argv[3], +process.argv[4]];
  const s = await ort.InferenceSession.create(file, { intraOpNumThreads: 2, interOpNumThreads: 1 });
  const x = new ort.Tensor('float32', new Float32Array(n * 3 * size * size).fill(0.1), [n, 3, size, size]);
  const t = [];
  for (let i = 0; i < 12; i++) { const t0 = performance.now(); await s.run({ [s.inputNames[0]]: x }); t.push(performance.now() - t0); }
  t.sort((a, b) => a - b);
  console.log(JSON.stringify({ file, n, size, p50_ms: +t[6].toFixed(1), min_ms: +t[0].toFixed(1) }));
})();
