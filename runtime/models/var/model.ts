/**
 * A loaded VAR model: configuration plus the GPU weights of the transformer, the quantizer and the
 * VQVAE. Loads from a model folder (one safetensors file, names prefixed `vae.` and `var.`) or from the
 * two public `.pth` checkpoints (bare names).
 */
import type { Gpu, Tensor } from '../../gpu/index.ts';
import { disposeWeights, WeightLoader, type TensorSource, type WeightDType } from '../loader.ts';
import { tokenCount } from '../vqvae/config.ts';
import { imageSize, type VarModelConfig } from './config.ts';
import { loadQuantizerWeights, type QuantizerWeights } from '../vqvae/quantizer.ts';
import { loadVarWeights, type VarWeights } from './transformer.ts';
import { loadDecoderWeights, loadEncoderWeights, type DecoderWeights, type EncoderWeights } from '../vqvae/vqvae.ts';

export interface VarLoadOptions {
  /** Precision of the large weight matrices on the GPU; vectors stay f32. Default 'f32'. */
  dtype?: WeightDType;
  /** Also load the VQVAE encoder (images to tokens). Default true. */
  encoder?: boolean;
}

/** Where the two state dicts live: one file with prefixes, or two files without. */
export interface VarSources {
  vae: TensorSource;
  vaePrefix: string;
  var: TensorSource;
  varPrefix: string;
  name: string;
}

export class VarModel {
  private constructor(
    readonly gpu: Gpu,
    readonly config: VarModelConfig,
    readonly transformer: VarWeights,
    readonly quantizer: QuantizerWeights,
    readonly decoder: DecoderWeights,
    readonly encoder: EncoderWeights | undefined,
    /** Bytes of weights on the GPU, and of the transformer alone (what each scale reads). */
    readonly weightBytes: { total: number; transformer: number },
    readonly dtype: WeightDType,
  ) {}

  static async load(gpu: Gpu, config: VarModelConfig, src: VarSources, opts: VarLoadOptions = {}): Promise<VarModel> {
    const dtype = opts.dtype ?? 'f32';
    const varW = new WeightLoader(gpu, src.var, src.varPrefix, dtype, src.name);
    const vaeW = new WeightLoader(gpu, src.vae, src.vaePrefix, dtype, src.name);
    try {
      const transformer = await loadVarWeights(varW, config.var, config.vae.vocabSize, config.vae.zChannels);
      const quantizer = await loadQuantizerWeights(vaeW, config.vae);
      const decoder = await loadDecoderWeights(vaeW, config.vae);
      const encoder = opts.encoder === false ? undefined : await loadEncoderWeights(vaeW, config.vae);
      return new VarModel(gpu, config, transformer, quantizer, decoder, encoder, { total: varW.bytes + vaeW.bytes, transformer: varW.bytes }, dtype);
    } catch (e) {
      // A bad file leaves nothing behind: the GPU and any model already running stay as they were.
      varW.disposeAll();
      vaeW.disposeAll();
      throw e;
    }
  }

  /** Returns every weight buffer to the pool. */
  dispose(): void {
    disposeWeights(this.gpu, [this.transformer, this.quantizer, this.decoder, this.encoder]);
  }

  get imageSize(): number {
    return imageSize(this.config);
  }

  get tokens(): number {
    return tokenCount(this.config.var.patchNums);
  }
}
