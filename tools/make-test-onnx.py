"""Writes the tiny ONNX models the TypeScript pipeline tests use (test/fixtures/onnx/).

tiny-gap.onnx: input "pixels" [N,3,H,W] float32 -> GlobalAveragePool -> Flatten -> Gemm(w=[0.5,-1,2], b=0.25)
-> output "logit" [N,1]. Its output is easy to compute by hand, so tests can assert exact values.
two-class.onnx: same pooling, Gemm to 2 logits ([[1,0,0],[0,1,0]] -> z0=mean_r, z1=mean_g).
Run: /usr/bin/python3 tools/make-test-onnx.py
"""
import os
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out_dir = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'onnx')
os.makedirs(out_dir, exist_ok=True)


def build(name, weights, bias, out_dim):
    inp = helper.make_tensor_value_info('pixels', TensorProto.FLOAT, ['N', 3, 'H', 'W'])
    out = helper.make_tensor_value_info('logit', TensorProto.FLOAT, ['N', out_dim])
    w = numpy_helper.from_array(np.array(weights, dtype=np.float32), 'w')
    b = numpy_helper.from_array(np.array(bias, dtype=np.float32), 'b')
    nodes = [
        helper.make_node('GlobalAveragePool', ['pixels'], ['pooled']),
        helper.make_node('Flatten', ['pooled'], ['flat'], axis=1),
        helper.make_node('Gemm', ['flat', 'w', 'b'], ['logit'], transB=1),
    ]
    graph = helper.make_graph(nodes, name, [inp], [out], initializer=[w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)], producer_name='genguard-tests')
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out_dir, f'{name}.onnx'))


build('tiny-gap', [[0.5, -1.0, 2.0]], [0.25], 1)
build('two-class', [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [0.0, 0.0], 2)
print('wrote', sorted(os.listdir(out_dir)))
