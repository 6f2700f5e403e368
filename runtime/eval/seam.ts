/**
 * How visible the wrap-around edge of a texture is when it is tiled: the mean absolute step between the
 * last and the first column (and row), over the mean step between neighbouring columns (rows) inside the
 * image, averaged over the two axes. A texture that tiles as smoothly as it runs inside reads about 1
 * (the procedural world's own textures: about 0.8); a decoder that pads with zeros leaves a darker or
 * brighter rim, and the tiled texture a seam (about 1.7 for the built-in VQVAE's zero-padded decoder).
 */

/** The seam ratio of planes [3, size, size] (any value range); 1 means the edge steps like the inside. */
export function seamRatio(planes: ArrayLike<number>, size: number): number {
  if (planes.length !== 3 * size * size || size < 3) throw new Error(`seamRatio: expected planes [3, ${size}, ${size}] with size >= 3, found ${planes.length} values`);
  const at = (c: number, y: number, x: number) => planes[(c * size + y) * size + x];
  let insideX = 0;
  let insideY = 0;
  let edgeX = 0;
  let edgeY = 0;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size - 1; x++) {
        insideX += Math.abs(at(c, y, x + 1) - at(c, y, x));
        insideY += Math.abs(at(c, x + 1, y) - at(c, x, y));
      }
      edgeX += Math.abs(at(c, y, 0) - at(c, y, size - 1));
      edgeY += Math.abs(at(c, 0, y) - at(c, size - 1, y));
    }
  }
  const ratio = (edge: number, inside: number) => (edge / (3 * size)) / Math.max(inside / (3 * size * (size - 1)), 1e-9);
  return (ratio(edgeX, insideX) + ratio(edgeY, insideY)) / 2;
}
