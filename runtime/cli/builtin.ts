/** Where the built-in model lives in the repository, for tools run from the checkout. */
import { fileURLToPath } from 'node:url';

export const BUILTIN_MODEL = fileURLToPath(new URL('../../models/builtin', import.meta.url));
