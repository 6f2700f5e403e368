/**
 * Byte sources: memory, Blob, Node file and URL (a local HTTP server that honours Range requests, and
 * one that ignores them and sends the whole file) all return the same bytes, refuse reads outside
 * the source, and report download progress.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobSource, fileSource, memorySource, openSafetensors, openSource, urlSource, type ByteSource } from '../../runtime/io/index.ts';
import { FIXTURE as VAR_TINY } from '../models/fixture.ts';

const FILE = fileURLToPath(new URL('./fixtures/views.pth', import.meta.url));
const WEIGHTS = `${VAR_TINY}/weights.safetensors`;
const bytes = new Uint8Array(readFileSync(FILE));

/** Reads a few ranges, including the first and last byte and an empty read, and compares them with the file. */
async function expectSameBytes(src: ByteSource): Promise<void> {
  expect(src.size).toBe(bytes.length);
  for (const [offset, length] of [[0, 1], [0, bytes.length], [17, 333], [bytes.length - 1, 1], [100, 0]]) {
    expect(Array.from(await src.read(offset, length)), `${src.name} [${offset}, +${length}]`).toEqual(Array.from(bytes.subarray(offset, offset + length)));
  }
  await expect(src.read(bytes.length - 3, 4)).rejects.toThrow(`${src.name}: cannot read 4 bytes at offset ${bytes.length - 3}: the source has ${bytes.length} bytes`);
  await expect(src.read(-1, 2)).rejects.toThrow('cannot read 2 bytes at offset -1');
}

describe('byte sources', () => {
  it('memory, Blob and Node file sources read the same bytes', async () => {
    await expectSameBytes(memorySource(bytes, 'mem'));
    await expectSameBytes(blobSource(new Blob([bytes]), 'blob'));
    await expectSameBytes(await fileSource(FILE));
    await expectSameBytes(await openSource(FILE));
    await expectSameBytes(await openSource(pathToFileURL(FILE).href));
    await expectSameBytes(await openSource(bytes));
    await expect(fileSource('/no/such/file.safetensors')).rejects.toThrow('/no/such/file.safetensors: cannot open');
  });

  describe('URLs', () => {
    let server: Server;
    let base = '';
    const served: { path: string; range?: string }[] = [];

    beforeAll(async () => {
      server = createServer((req, res) => {
        const path = req.url ?? '';
        served.push({ path, range: req.headers.range });
        let body: Uint8Array;
        try {
          body = path.includes('weights') ? readFileSync(WEIGHTS) : bytes;
        } catch (e) {
          // A missing fixture answers 500 at once (the test then fails naming the file), never a hung request.
          res.writeHead(500, String(e).replace(/[^\x20-\x7e]/g, '?')).end();
          return;
        }
        if (path.startsWith('/missing')) {
          res.writeHead(404, 'Not Found').end();
          return;
        }
        const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
        if (path.startsWith('/ranged') && range) {
          const [start, end] = [Number(range[1]), Math.min(Number(range[2]), body.length - 1)];
          res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${body.length}`, 'Content-Length': end - start + 1 });
          res.end(body.subarray(start, end + 1));
          return;
        }
        res.writeHead(200, { 'Content-Length': body.length });
        // Several chunks, so progress is reported more than once.
        for (let i = 0; i < body.length; i += 1000) res.write(body.subarray(i, i + 1000));
        res.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('read by Range requests where the server honours them, reporting bytes fetched', async () => {
      const progress: [number, number][] = [];
      served.length = 0;
      const src = await urlSource(`${base}/ranged/views.pth`, { onProgress: (loaded, total) => progress.push([loaded, total]) });
      await expectSameBytes(src);
      expect(served.every((s) => s.range !== undefined), 'every request asks for a range').toBe(true);
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.every(([loaded, total], i) => total === bytes.length && loaded <= total && (i === 0 || loaded >= progress[i - 1][0]))).toBe(true);
    });

    it('download whole, once, with progress, where the server ignores ranges', async () => {
      const progress: [number, number][] = [];
      served.length = 0;
      const src = await openSource(`${base}/plain/views.pth`, { onProgress: (loaded, total) => progress.push([loaded, total]) });
      await expectSameBytes(src);
      expect(served.length, 'one request').toBe(1);
      expect(progress[0]).toEqual([0, bytes.length]);
      expect(progress.at(-1)).toEqual([bytes.length, bytes.length]);
    });

    it('open safetensors over HTTP: only the header and the tensor asked for with ranges, else one download', async () => {
      const file = await openSafetensors(await urlSource(`${base}/ranged/weights.safetensors`));
      const local = await openSafetensors(await fileSource(WEIGHTS));
      served.length = 0;
      const name = 'var.blocks.0.attn.mat_qkv.weight';
      expect(Array.from((await file.read(name)).data)).toEqual(Array.from((await local.read(name)).data));
      const { offset, byteLength } = local.tensors.get(name)!;
      expect(served.map((s) => s.range)).toEqual([`bytes=${offset}-${offset + byteLength - 1}`]);

      const progress: number[] = [];
      const whole = await openSafetensors(await urlSource(`${base}/plain/weights.safetensors`, { onProgress: (loaded) => progress.push(loaded) }));
      expect(Array.from((await whole.read(name)).data)).toEqual(Array.from((await local.read(name)).data));
      expect(progress.length, 'progress reported as the download streams').toBeGreaterThan(3);
      expect(progress.at(-1)).toBe(readFileSync(WEIGHTS).length);
    });

    it('report HTTP errors with the URL and status', async () => {
      await expect(urlSource(`${base}/missing/x.safetensors`)).rejects.toThrow(`${base}/missing/x.safetensors: download failed: HTTP 404 Not Found`);
    });
  });
});
