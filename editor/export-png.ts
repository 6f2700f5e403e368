/**
 * Reading a generated texture back for export: level 0 of an rgba8unorm texture copied into a mapped
 * buffer (rows padded to WebGPU's 256-byte copy alignment, then unpadded), and a PNG made from it by
 * the browser's own encoder. Export is the one place the editor reads pixels back to the CPU.
 */

/** Level 0 of `texture` as tightly packed RGBA bytes (width · height · 4). */
export async function readTexturePixels(device: GPUDevice, texture: GPUTexture): Promise<Uint8ClampedArray<ArrayBuffer>> {
  if (texture.format !== 'rgba8unorm') throw new Error(`readTexturePixels: expected an rgba8unorm texture, found ${texture.format}`);
  const { width, height } = texture;
  const rowBytes = width * 4;
  const paddedRow = Math.ceil(rowBytes / 256) * 256;
  const buffer = device.createBuffer({ label: 'texture export', size: paddedRow * height, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const encoder = device.createCommandEncoder({ label: 'texture export' });
    encoder.copyTextureToBuffer({ texture, mipLevel: 0 }, { buffer, bytesPerRow: paddedRow, rowsPerImage: height }, [width, height]);
    device.queue.submit([encoder.finish()]);
    await buffer.mapAsync(GPUMapMode.READ);
    const padded = new Uint8Array(buffer.getMappedRange());
    const pixels = new Uint8ClampedArray(rowBytes * height);
    for (let y = 0; y < height; y++) pixels.set(padded.subarray(y * paddedRow, y * paddedRow + rowBytes), y * rowBytes);
    buffer.unmap();
    return pixels;
  } finally {
    buffer.destroy();
  }
}

/** The texture's level 0 as a PNG file. */
export async function texturePng(device: GPUDevice, texture: GPUTexture): Promise<Blob> {
  const pixels = await readTexturePixels(device, texture);
  const canvas = document.createElement('canvas');
  canvas.width = texture.width;
  canvas.height = texture.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('texturePng: this browser gives no 2D canvas context to encode the PNG');
  ctx.putImageData(new ImageData(pixels, texture.width, texture.height), 0, 0);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('texturePng: the browser could not encode the PNG'))), 'image/png'));
}

/** Saves a blob under `filename` through the browser's download. */
export function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
