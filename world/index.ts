/**
 * The procedural texture world: a grammar of seamless textures with captions, edit instructions and
 * motion, the renderer, and the attribute checker that grades images against captions. Pure
 * TypeScript (no Node imports): the exporter (world/cli.ts) and the eval (world/eval) use it.
 */
export { COLOUR_NAMES, PALETTE, colourLab, isColourName, nearestColour, rotateHue, srgbToOklab, type ColourName } from './colours.ts';
export {
  HELD_OUT_PER_PATTERN,
  HELD_OUT_SEED,
  PATTERNS,
  PATTERN_ROTATIONS,
  ROTATIONS,
  Rng,
  SCALES,
  enumerateSpecs,
  hash32,
  heldOutCombinations,
  isHeldOut,
  sampleSpec,
  validateSpec,
  type HeldOutCombination,
  type Pattern,
  type Rotation,
  type Scale,
  type Split,
  type TextureSpec,
} from './grammar.ts';
export {
  MOTION_PHRASES,
  applyInstruction,
  caption,
  clipCaption,
  instructionText,
  instructionsFor,
  motionPhrase,
  motionPhrasesFor,
  parseCaption,
  parseClipCaption,
  parseInstruction,
  sampleClip,
  sampleEdit,
  vocabulary,
  type Edit,
  type Instruction,
  gradeCaption,
  type CaptionGrade,
} from './captions.ts';
export { render, rgbToRgba, variation, type ImageVariation, type RenderOptions } from './render.ts';
export { renderFrame, roll, type Motion } from './motion.ts';
export { CHECKER_TRAINING_PER_CLASS, CHECKER_TRAINING_SEED, checkImage, checkerModel, compareToCaption, degrade, evaluateChecker, type CaptionMatch, type CheckResult, type CheckerReport, type Degradation } from './checker.ts';
export { npyHeader, parseNpyHeader, type NpyHeader } from './npy.ts';
