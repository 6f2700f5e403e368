/**
 * The unified family's text tokenizer: a model folder's `tokenizer.json` (Hugging Face format, BPE with
 * byte fallback) read by `@huggingface/tokenizers`, plus what the runtime needs beyond encode and
 * decode: the ids of the special tokens, looked up by name (never by number), and a check that the
 * vocabulary is the one the transformer was built for.
 */
import { checkedFileSync } from '../../io/model-file-error.ts';
import { Tokenizer } from '@huggingface/tokenizers';

/** The special tokens of the sequence layout (README.md, "Vocabulary"). */
export const SPECIAL_TOKENS = { pad: '<pad>', eos: '<eos>', unk: '<unk>', text: '<text>', image: '<image>', endImage: '</image>' } as const;

export type SpecialIds = Record<keyof typeof SPECIAL_TOKENS, number>;

export class UnifiedTokenizer {
  /** Text ids 0 .. vocabSize - 1 (T). */
  readonly vocabSize: number;
  readonly specials: SpecialIds;

  private constructor(private readonly tokenizer: Tokenizer, source: string, expectedVocab?: number) {
    const vocab = tokenizer.get_vocab(true);
    let largest = -1;
    for (const id of vocab.values()) largest = Math.max(largest, id);
    this.vocabSize = largest + 1;
    if (expectedVocab !== undefined && this.vocabSize !== expectedVocab) {
      throw new Error(`${source}: the vocabulary has ${this.vocabSize} text tokens, the model's text_vocab_size is ${expectedVocab}`);
    }
    const ids = {} as SpecialIds;
    const missing: string[] = [];
    for (const [key, name] of Object.entries(SPECIAL_TOKENS) as [keyof SpecialIds, string][]) {
      const id = tokenizer.token_to_id(name);
      if (id === undefined) missing.push(name);
      else ids[key] = id;
    }
    if (missing.length) throw new Error(`${source}: expected the special tokens ${Object.values(SPECIAL_TOKENS).join(' ')}, missing ${missing.join(' ')}`);
    this.specials = ids;
  }

  /**
   * A tokenizer from the parsed `tokenizer.json`; `textVocabSize` (the config's T), when given, must
   * match the vocabulary.
   */
  static fromJson(json: unknown, source = 'tokenizer.json', textVocabSize?: number): UnifiedTokenizer {
    return checkedFileSync(source, () => UnifiedTokenizer.build(json, source, textVocabSize));
  }

  private static build(json: unknown, source: string, textVocabSize?: number): UnifiedTokenizer {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${source}: expected a JSON object, found ${JSON.stringify(json)?.slice(0, 40)}`);
    const model = (json as { model?: { type?: unknown } }).model;
    if (!model || typeof model !== 'object') throw new Error(`${source}: expected a "model" section (a BPE vocabulary), found none`);
    checkIds(json as { model: { vocab?: unknown }; added_tokens?: unknown }, source);
    const regex = findRegex(json, '');
    if (regex !== undefined) {
      throw new Error(`${source}: ${regex} holds a regular expression; tokenizers with regular expressions are refused (a crafted pattern can take exponential time on a prompt)`);
    }
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(json, {});
    } catch (e) {
      throw new Error(`${source}: not a usable tokenizer (${(e as Error).message})`);
    }
    return new UnifiedTokenizer(tokenizer, source, textVocabSize);
  }

  /**
   * Text ids of `text`, no special tokens added (special tokens written in the text are recognised).
   *
   * @example
   *   tok.encode('make it green'); // [392, 335, 410]
   */
  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** The text of `ids`; image codes and ids outside the vocabulary are refused. */
  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= this.vocabSize);
    if (bad !== undefined) throw new Error(`decode: text ids are 0..${this.vocabSize - 1}, found ${bad}`);
    return this.tokenizer.decode([...ids], { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  /** The id of a token by name, e.g. '<image>'. */
  id(token: string): number {
    const id = this.tokenizer.token_to_id(token);
    if (id === undefined) throw new Error(`tokenizer: no token '${token}'`);
    return id;
  }
}

/** The path of the first "Regex" pattern in a tokenizer's JSON (normalizers, pre-tokenizers, decoders), if any. */
function findRegex(node: unknown, path: string, depth = 0): string | undefined {
  if (typeof node !== 'object' || node === null || depth > 32) return undefined;
  for (const [k, v] of Object.entries(node)) {
    if (k === 'Regex') return path || 'the tokenizer';
    if (k === 'vocab' || k === 'merges' || k === 'added_tokens') continue;
    const found = findRegex(v, path ? `${path}.${k}` : k, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Every token id (the vocabulary's and the added tokens') is a whole number below the count of both: ids
 * are dense in a BPE vocabulary, and the tokenizer library sizes its tables by the largest.
 */
function checkIds(json: { model: { vocab?: unknown }; added_tokens?: unknown }, source: string): void {
  const vocab = json.model.vocab;
  if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) throw new Error(`${source}: expected "model"."vocab" to map tokens to ids, found ${JSON.stringify(vocab)?.slice(0, 40)}`);
  const added = Array.isArray(json.added_tokens) ? (json.added_tokens as unknown[]) : [];
  const entries = Object.entries(vocab as Record<string, unknown>);
  const limit = entries.length + added.length;
  const bad = (what: string, id: unknown) => new Error(`${source}: ${what} has id ${JSON.stringify(id)?.slice(0, 20)}, expected a whole number below ${limit}`);
  for (const [token, id] of entries) if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= limit) throw bad(`vocabulary token ${JSON.stringify(token)}`, id);
  for (const a of added) {
    const id = (a as { id?: unknown } | null)?.id;
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= limit) throw bad('an added token', id);
  }
}
