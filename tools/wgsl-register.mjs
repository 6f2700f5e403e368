// Registers tools/wgsl-hooks.mjs: `node --import ./tools/wgsl-register.mjs --import tsx script.ts`.
import { register } from 'node:module';

register('./wgsl-hooks.mjs', import.meta.url);
