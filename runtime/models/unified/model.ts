/**
 * A loaded unified model: configuration, tokenizer, and the GPU weights of the transformer, the
 * quantizer and the VQVAE (encoder included: images are inputs too). The VQVAE's tensors are VAR's,
 * prefixed `vae.`; the transformer's are prefixed `unified.`.
 */
import type { Gpu, Tensor } from '../../gpu/index.ts';
import { disposeWeights, WeightLoader, type TensorSource, type WeightDType } from '../loader.ts';
import { loadQuantizerWeights, type QuantizerWeights } from '../vqvae/quantizer.ts';
import { loadDecoderWeights, loadEncoderWeights, type DecoderWeights, type EncoderWeights } from '../vqvae/vqvae.ts';
import { imageSize, type UnifiedModelConfig } from './config.ts';
import type { UnifiedTokenizer } from './tokenizer.ts';
import { loadUnifiedWeights, type UnifiedWeights } from './transformer.ts';

export interface UnifiedLoadOptions {
  /** Precision of the large weight matrices on the GPU; vectors stay f32. Default 'f32'. */
  dtype?: WeightDType;
}

/** Where the tensors live: one file, names prefixed `vae.` and `unified.` in a model folder. */
export interface UnifiedSources {
  weights: TensorSource;
  vaePrefix: string;
  unifiedPrefix: string;
  name: string;
}

export class UnifiedModel {
  private constructor(
    readonly gpu: Gpu,
    readonly config: UnifiedModelConfig,
    readonly tokenizer: UnifiedTokenizer,
    readonly transformer: UnifiedWeights,
    readonly quantizer: QuantizerWeights,
    readonly decoder: DecoderWeights,
    readonly encoder: EncoderWeights,
    /** Bytes of weights on the GPU, and of the transformer alone (what each pass reads). */
    readonly weightBytes: { total: number; transformer: number },
    readonly dtype: WeightDType,
  ) {}

  static async load(gpu: Gpu, config: UnifiedModelConfig, tokenizer: UnifiedTokenizer, src: UnifiedSources, opts: UnifiedLoadOptions = {}): Promise<UnifiedModel> {
    const dtype = opts.dtype ?? 'f32';
    if (tokenizer.vocabSize !== config.unified.textVocabSize) {
      throw new Error(`${src.name}: the tokenizer has ${tokenizer.vocabSize} text tokens, the config's text_vocab_size is ${config.unified.textVocabSize}`);
    }
    const uW = new WeightLoader(gpu, src.weights, src.unifiedPrefix, dtype, src.name);
    const vaeW = new WeightLoader(gpu, src.weights, src.vaePrefix, dtype, src.name);
    try {
      const { vae } = config;
      const transformer = await loadUnifiedWeights(uW, config.unified, tokenizer.specials, vae.vocabSize, vae.zChannels);
      const quantizer = await loadQuantizerWeights(vaeW, vae);
      const decoder = await loadDecoderWeights(vaeW, vae);
      const encoder = await loadEncoderWeights(vaeW, vae);
      return new UnifiedModel(gpu, config, tokenizer, transformer, quantizer, decoder, encoder, { total: uW.bytes + vaeW.bytes, transformer: uW.bytes }, dtype);
    } catch (e) {
      // A bad file leaves nothing behind: the GPU and any model already running stay as they were.
      uW.disposeAll();
      vaeW.disposeAll();
      throw e;
    }
  }

  /** Pixels per side of the images the model reads and writes. */
  get imageSize(): number {
    return imageSize(this.config);
  }

  /** Returns every weight buffer to the pool. */
  dispose(): void {
    disposeWeights(this.gpu, [this.transformer, this.quantizer, this.decoder, this.encoder]);
  }
}
