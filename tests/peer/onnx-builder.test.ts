import { describe, expect, it } from 'vitest';
import { OnnxBuilder } from '../../runtime/peer/onnx-builder.ts';
import { ProtoWriter, writeModel } from '../../runtime/peer/onnx-proto.ts';
import { loadOrt, ortRun, ortSession } from '../../runtime/peer/ort-node.ts';
import * as refConv from '../../runtime/reference/conv2d.ts';
import * as refGroupNorm from '../../runtime/reference/group-norm.ts';
import * as refRmsNorm from '../../runtime/reference/rms-norm.ts';
import { expectClose, random, testGpu } from '../helpers.ts';

/** Runs an ONNX file on ORT's WebGPU execution provider on the test device; checks every node ran there. */
async function run(model: Uint8Array, inputs: Record<string, { data: Float32Array; dims: number[] }>): Promise<Record<string, Float32Array>> {
  const gpu = await testGpu();
  const ort = await loadOrt(gpu.device);
  const { session, placement } = await ortSession(ort, gpu.device, model);
  try {
    expect(Object.keys(placement), 'execution providers the nodes were placed on').toEqual(['WebGpuExecutionProvider']);
    return await ortRun(ort, session, inputs);
  } finally {
    await session.release();
  }
}

describe('the protobuf wire format', () => {
  it('writes varints, floats and nested messages as protobuf does', () => {
    const w = new ProtoWriter();
    w.int(1, 300); // key 0x08, then 300 = 0xac 0x02
    w.int(2, -1); // negative int64: ten bytes
    w.float(3, 1.5); // key 0x1d, then 1.5 little-endian
    w.message(4, (m) => m.string(1, 'ab')); // key 0x22, length 4: key 0x0a, length 2, 'a', 'b'
    expect([...w.finish()]).toEqual([
      0x08, 0xac, 0x02,
      0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
      0x1d, 0x00, 0x00, 0xc0, 0x3f,
      0x22, 0x04, 0x0a, 0x02, 0x61, 0x62,
    ]);
  });
});

describe('ONNX files from the writer, run by ONNX Runtime Web on WebGPU', () => {
  it('computes a small graph with initializers and int, ints and float attributes to known numbers', async () => {
    // y = softmax(transpose(x) · W + b, axis 1) and z = concat(x, x) along 0, with W, b constants.
    const model = writeModel({
      name: 'known',
      nodes: [
        { op: 'Transpose', inputs: ['x'], outputs: ['xt'], attributes: { perm: [1, 0] } },
        { op: 'MatMul', inputs: ['xt', 'w'], outputs: ['xw'] },
        { op: 'Add', inputs: ['xw', 'b'], outputs: ['logits'] },
        { op: 'Softmax', inputs: ['logits'], outputs: ['y'], attributes: { axis: 1 } },
        { op: 'Concat', inputs: ['x', 'x'], outputs: ['z'], attributes: { axis: 0 } },
        { op: 'LeakyRelu', inputs: ['z'], outputs: ['r'], attributes: { alpha: { float: 0.25 } } },
      ],
      initializers: [
        { name: 'w', dims: [2, 2], dtype: 'float32', data: Float32Array.from([1, 0, 0, 2]) },
        { name: 'b', dims: [2], dtype: 'float32', data: Float32Array.from([0, -1]) },
      ],
      inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [3, 2] }, { name: 'r', dtype: 'float32', shape: [4, 3] }],
    });
    const x = Float32Array.from([0, 1, -2, 1, 0, 3]); // rows (0, 1, -2) and (1, 0, 3)
    const out = await run(model, { x: { data: x, dims: [2, 3] } });
    // transpose(x) · W + b: rows (0, 1), (1, -1), (-2, 5)
    const softmax = (a: number, c: number) => [Math.exp(a) / (Math.exp(a) + Math.exp(c)), Math.exp(c) / (Math.exp(a) + Math.exp(c))];
    expectClose('y', out.y, [...softmax(0, 1), ...softmax(1, -1), ...softmax(-2, 5)], { atol: 1e-6, rtol: 1e-5 });
    expectClose('r', out.r, [0, 1, -0.5, 1, 0, 3, 0, 1, -0.5, 1, 0, 3], { atol: 0, rtol: 0 });
  });

  it('convolves around the torus and with zeros as the runtime does, and normalises as its references', async () => {
    const [B, Cin, H, W, Cout] = [1, 3, 5, 7, 4];
    const x = random(B * Cin * H * W, 1);
    const w3 = random(Cout * Cin * 9, 2);
    const bias = random(Cout, 3);
    const b = new OnnxBuilder('layers');
    const input = b.input('x', [B, Cin, H, W]);
    b.output(b.conv(input, 'torus', w3, bias, Cout, Cin, 3, 'circular'), 'circular', [B, Cout, H, W]);
    b.output(b.conv(input, 'zeros', w3, bias, Cout, Cin, 3, 'zeros'), 'zeros', [B, Cout, H, W]);
    // GroupNorm of 4 channels in 2 groups, with SiLU; RMSNorm over the last axis.
    const gw = random(Cout, 4, 0.5, 1.5);
    const gb = random(Cout, 5);
    const conv = b.conv(input, 'zeros2', w3, bias, Cout, Cin, 3, 'zeros');
    b.output(b.groupNorm(conv, [B, Cout, H, W], 2, 1e-6, gw, gb, true, 'gn'), 'group_norm', [B, Cout, H, W]);
    const rw = random(W, 6, 0.5, 1.5);
    b.output(b.rmsNorm(input, 'rms', rw, 1e-6), 'rms_norm', [B, Cin, H, W]);
    const out = await run(b.bytes(), { x: { data: x, dims: [B, Cin, H, W] } });

    const shape = { B, Cin, H, W, Cout, k: 3, padding: [1, 1, 1, 1] as [number, number, number, number] };
    const tol = { atol: 1e-5, rtol: 1e-4 };
    expectClose('circular conv', out.circular, refConv.conv2d(x, w3, bias, { ...shape, paddingMode: 'circular' }), tol);
    const zeros = refConv.conv2d(x, w3, bias, { ...shape, paddingMode: 'zeros' });
    expectClose('zero-padded conv', out.zeros, zeros, tol);
    expectClose('group norm + silu', out.group_norm, refGroupNorm.groupNorm(zeros, B, Cout, { groups: 2, eps: 1e-6, weight: gw, bias: gb, silu: true }), tol);
    expectClose('rms norm', out.rms_norm, refRmsNorm.rmsNorm(x, W, { eps: 1e-6, weight: rw }), tol);
  });
});
