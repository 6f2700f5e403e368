/**
 * ONNX Runtime Web with its WebGPU execution provider, in Node, on the GPUDevice nextscale runs on:
 * the peer and the runtime share one adapter and one device, so their times compare like for like.
 *
 * ORT Web looks for `navigator.gpu` (which Node lacks), so one from Dawn's `webgpu` package is put
 * there; the execution provider is then handed nextscale's own device. ORT's WebAssembly memory is a
 * SharedArrayBuffer, and Dawn's `queue.writeBuffer` refuses views of one: the device's queue gets a
 * `writeBuffer` that copies such views into a plain buffer first (every other write passes straight
 * through). ORT runs single-threaded here (Node has no Web Worker global for its thread pool).
 *
 * Where each node runs is read from ORT's own log: a session is created with verbose logging, and its
 * "Node placements" lines (nodes per execution provider) are kept. In Node, ORT's WebAssembly module
 * prints its log with `fs.writeSync(2, ...)`, which is intercepted while that session is created.
 */
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-web';

export type Ort = typeof import('onnxruntime-web/webgpu');

let loaded: Promise<Ort> | undefined;
const patched = new WeakSet<GPUQueue>();

/** ORT Web's WebGPU build, ready to run on `device`. */
export function loadOrt(device: GPUDevice): Promise<Ort> {
  allowSharedWrites(device.queue);
  loaded ??= (async () => {
    const g = globalThis as { navigator?: { gpu?: GPU } };
    if (!g.navigator?.gpu) {
      const dawn = await import('webgpu');
      Object.assign(globalThis, dawn.globals);
      const gpu = dawn.create([]);
      if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
      else g.navigator = { gpu };
    }
    const ort = await import('onnxruntime-web/webgpu');
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'error';
    return ort;
  })();
  return loaded;
}

/** Makes `queue.writeBuffer` accept views of a SharedArrayBuffer (ORT's wasm memory) by copying them. */
function allowSharedWrites(queue: GPUQueue): void {
  if (patched.has(queue)) return;
  patched.add(queue);
  const write = queue.writeBuffer.bind(queue);
  queue.writeBuffer = (buffer: GPUBuffer, offset: GPUSize64, data: AllowSharedBufferSource, dataOffset?: GPUSize64, size?: GPUSize64) => {
    if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      // Offsets and sizes count elements for typed arrays, bytes for DataView.
      const unit = 'BYTES_PER_ELEMENT' in data ? (data.BYTES_PER_ELEMENT as number) : 1;
      const start = data.byteOffset + (dataOffset ?? 0) * unit;
      const bytes = size === undefined ? data.byteLength - (dataOffset ?? 0) * unit : size * unit;
      return write(buffer, offset, new Uint8Array(data.buffer, start, bytes).slice());
    }
    return write(buffer, offset, data as BufferSource, dataOffset, size);
  };
}

/** An ORT session, and how many of its nodes (after ORT's graph optimisations) each execution provider runs. */
export interface OrtSession {
  session: InferenceSession;
  placement: Record<string, number>;
}

/**
 * An ORT session of an ONNX file's bytes on the WebGPU execution provider, on `device`. The placement
 * comes from a first session created with verbose logging (and released: a session logs at the level it
 * was made with on every run, which would slow the runs down); the one returned logs only warnings.
 */
export async function ortSession(ort: Ort, device: GPUDevice, model: Uint8Array): Promise<OrtSession> {
  const ep = { name: 'webgpu', device } as InferenceSession.ExecutionProviderConfig;
  const options: InferenceSession.SessionOptions = { executionProviders: [ep], graphOptimizationLevel: 'all' };
  const logged: string[] = [];
  const fs = (await import('node:fs')).default;
  const write = fs.writeSync;
  fs.writeSync = ((fd: number, data: unknown, ...rest: unknown[]) => {
    if (fd === 2 && typeof data === 'string' && /\[[VI]:onnxruntime/.test(data)) {
      logged.push(data);
      return data.length;
    }
    return (write as (...args: unknown[]) => number).call(fs, fd, data, ...rest);
  }) as typeof fs.writeSync;
  try {
    await (await ort.InferenceSession.create(model, { ...options, logSeverityLevel: 0, logVerbosityLevel: 0 })).release();
  } finally {
    fs.writeSync = write;
  }
  const placement: Record<string, number> = {};
  for (const line of logged) {
    const m = /(?:All nodes|Node\(s\)) placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(line);
    if (m) placement[m[1]] = (placement[m[1]] ?? 0) + Number(m[2]);
  }
  return { session: await ort.InferenceSession.create(model, { ...options, logSeverityLevel: 2 }), placement };
}

/** Runs a session on float32 inputs from the host; returns its float32 outputs on the host. */
export async function ortRun(ort: Ort, session: InferenceSession, inputs: Record<string, { data: Float32Array; dims: readonly number[] }>): Promise<Record<string, Float32Array>> {
  const feeds: Record<string, OrtTensor> = {};
  for (const [name, t] of Object.entries(inputs)) feeds[name] = new ort.Tensor('float32', t.data, t.dims);
  const results = await session.run(feeds);
  const out: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(results)) {
    out[name] = (await t.getData()) as Float32Array;
    t.dispose();
  }
  return out;
}
