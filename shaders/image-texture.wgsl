// Writes one image of an NCHW batch, image [B, 3, H, W] f32, into an rgba8unorm storage texture of
// W x H texels (alpha 1), so a generated image reaches the renderer without leaving the GPU. Values are
// mapped from their range to [0, 1] (v·scale + shift), clamped, optionally sRGB-encoded, and rounded
// as round(v·255) (half away from zero, the same on every adapter) before the store.
//
// One invocation per texel on 16x16 workgroups: adjacent invocations read adjacent pixels of each
// channel plane (coalesced). Texels outside the image or the texture are skipped.

struct Params {
  W: u32,
  H: u32,
  offset: u32, // first element of the chosen batch entry: batch_index · 3 · H · W
  scale: f32,  // [-1, 1] → [0, 1]: 0.5, 0.5; [0, 1]: 1, 0
  shift: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> image: array<f32>;
@group(0) @binding(2) var tex: texture_storage_2d<rgba8unorm, write>;

// Encode linear values with the sRGB transfer function.
override SRGB: bool = false;

fn srgb_encode(v: vec3f) -> vec3f {
  return select(1.055 * pow(v, vec3f(1.0 / 2.4)) - 0.055, 12.92 * v, v <= vec3f(0.0031308));
}

@compute @workgroup_size(16, 16)
fn write_image_texture(@builtin(global_invocation_id) gid: vec3u) {
  let size = textureDimensions(tex);
  if (gid.x >= p.W || gid.y >= p.H || gid.x >= size.x || gid.y >= size.y) { return; }
  let plane = p.H * p.W;
  let i = p.offset + gid.y * p.W + gid.x;
  var v = clamp(vec3f(image[i], image[i + plane], image[i + 2u * plane]) * p.scale + p.shift, vec3f(0.0), vec3f(1.0));
  if (SRGB) { v = srgb_encode(v); }
  textureStore(tex, gid.xy, vec4f(floor(v * 255.0 + 0.5) / 255.0, 1.0));
}
