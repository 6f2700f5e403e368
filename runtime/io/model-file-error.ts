/**
 * The one error a bad model file gives (config.json, tokenizer.json, .safetensors, .pth): the file, where
 * in it when known (a tensor, a zip entry), and a message naming what was found and what was expected.
 * The readers throw plain Errors that name the file; their public entry points hand them on as this type,
 * the original as its `cause`, so a caller tells a broken file from a broken runtime by `instanceof`.
 */
export class ModelFileError extends Error {
  override name = 'ModelFileError';

  constructor(
    /** The file, as the reader was given it (a path, a URL, a dropped file's name). */
    readonly file: string,
    message: string,
    /** Where in the file, e.g. "tensor 'var.blocks.0.attn.proj.weight'". */
    readonly where?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function wrap(e: unknown, file: string, where?: string): ModelFileError {
  if (e instanceof ModelFileError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new ModelFileError(file, message.includes(file) ? message : `${file}: ${message}`, where, { cause: e });
}

/** Runs `work` on `file`; whatever it throws comes out as a ModelFileError naming the file. */
export async function checkedFile<T>(file: string, work: () => Promise<T>, where?: string): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw wrap(e, file, where);
  }
}

/** `checkedFile` for synchronous work (parsing a config or a tokenizer). */
export function checkedFileSync<T>(file: string, work: () => T, where?: string): T {
  try {
    return work();
  } catch (e) {
    throw wrap(e, file, where);
  }
}
