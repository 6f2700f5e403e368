/** The JSON files of a model folder (config.json, tokenizer.json), read with a size limit. */
import { openSource } from '../io/index.ts';
import { checkedFile } from '../io/model-file-error.ts';

/** Largest JSON file of a model folder read (a tokenizer of a large vocabulary is a few MB). */
export const MAX_JSON_BYTES = 16 * 1024 * 1024;

/** Reads and parses a JSON file of a model folder (at most MAX_JSON_BYTES), naming the file in errors. */
export function readJson(path: string): Promise<unknown> {
  return checkedFile(path, async () => {
    const source = await openSource(path);
    if (source.size > MAX_JSON_BYTES) throw new Error(`${path}: ${source.size} bytes, expected a JSON file of at most ${MAX_JSON_BYTES}`);
    const text = new TextDecoder().decode(await source.read(0, source.size));
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
    }
  });
}
