/**
 * How visible the wrap-around edge of a texture is when it is tiled: the mean absolute step between the
 * last and the first column (and row), over the mean step between neighbouring columns (rows) inside the
 * image, averaged over the two axes. A texture that tiles as smoothly as it runs inside reads about 1
 * (the procedural world's own textures: about 0.8); a decoder that pads with zeros leaves a darker or
 * brighter rim, and the tiled texture a seam (about 1.7 for the built-in VQVAE's zero-padded decoder).
 */

/**
 * The seam ratio of planes [3, size, size] (any value range); 1 means the edge steps like the inside.
 * With `period` > 1 the inside's steps are those at the same phase as the wrap edge: between columns
 * (rows) x - 1 and x for x a multiple of `period` (a decoder's patch, 4 pixels for 16 x 16 tokens of a
 * 64-pixel image, steps more across patch borders than within a patch, and the wrap edge is a border).
 */
export function seamRatio(planes: ArrayLike<number>, size: number, period = 1): number {
  if (planes.length !== 3 * size * size || size < 3) throw new Error(`seamRatio: expected planes [3, ${size}, ${size}] with size >= 3, found ${planes.length} values`);
  if (!Number.isInteger(period) || period < 1 || size % period !== 0 || period >= size) throw new Error(`seamRatio: period must be a whole number dividing the size ${size} and below it, found ${period}`);
  const at = (c: number, y: number, x: number) => planes[(c * size + y) * size + x];
  let insideX = 0;
  let insideY = 0;
  let edgeX = 0;
  let edgeY = 0;
  let steps = 0;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) {
      for (let x = period; x < size; x += period) {
        insideX += Math.abs(at(c, y, x) - at(c, y, x - 1));
        insideY += Math.abs(at(c, x, y) - at(c, x - 1, y));
        if (c === 0 && y === 0) steps++;
      }
      edgeX += Math.abs(at(c, y, 0) - at(c, y, size - 1));
      edgeY += Math.abs(at(c, 0, y) - at(c, size - 1, y));
    }
  }
  const ratio = (edge: number, inside: number) => (edge / (3 * size)) / Math.max(inside / (3 * size * steps), 1e-9);
  return (ratio(edgeX, insideX) + ratio(edgeY, insideY)) / 2;
}
