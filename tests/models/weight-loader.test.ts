import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../runtime/gpu/index.ts';
import { WeightLoader, type TensorSource } from '../../runtime/models/loader.ts';

/** A file that declares tensors and fails the test if any of their bytes are read. */
const declaring = (tensors: Record<string, { shape: number[]; dtype: string }>): TensorSource => ({
  tensors: new Map(Object.entries(tensors)),
  read: async (name) => {
    throw new Error(`read '${name}' before checking what the file declares`);
  },
});

describe('weight loader', () => {
  it('checks the declared shape and dtype before reading any of its bytes', async () => {
    const file = declaring({ w: { shape: [1 << 15, 1 << 15], dtype: 'F32' }, ids: { shape: [4], dtype: 'I64' }, ok: { shape: [2], dtype: 'F16' } });
    const loader = new WeightLoader({} as Gpu, file, '', 'f32', 'big.safetensors');
    await expect(loader.host('w', [64, 64])).rejects.toThrow("big.safetensors: tensor 'w' has shape [32768, 32768], expected [64, 64]");
    await expect(loader.host('ids', [4])).rejects.toThrow("big.safetensors: tensor 'ids' is I64, expected weights of a float dtype (F32, F16, BF16, F64)");
    await expect(loader.host('ok', [2])).rejects.toThrow("read 'ok' before checking"); // passes the checks, then reads
    await expect(loader.host('gone', [2])).rejects.toThrow("big.safetensors: tensor 'gone' not found (the file has 3 tensors, e.g. 'w', 'ids', 'ok')");
  });
});

describe('ModelFileError', () => {
  it('is what every reader throws for a bad file: the file, where in it, and the original as its cause', async () => {
    const { ModelFileError } = await import('../../runtime/io/index.ts');
    const { parseUnifiedConfig } = await import('../../runtime/models/unified/config.ts');
    const loader = new WeightLoader({} as Gpu, declaring({ w: { shape: [3], dtype: 'F32' } }), 'unified.', 'f32', 'm/weights.safetensors');
    const missing = await loader.host('w', [3]).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ModelFileError);
    expect(missing).toMatchObject({ file: 'm/weights.safetensors', where: "tensor 'unified.w'" });
    let config: unknown;
    try {
      parseUnifiedConfig({ family: 'unified' }, 'm/config.json');
    } catch (e) {
      config = e;
    }
    expect(config).toBeInstanceOf(ModelFileError);
    expect((config as Error).message).toBe('m/config.json "unified": expected an object, found undefined');
    expect((config as Error & { cause: unknown }).cause).toBeInstanceOf(Error);
  });
});
