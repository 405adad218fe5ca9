// SiglipImageProcessor through the shared preprocessor_config reader: class defaults (IMAGENET_STANDARD 0.5, bicubic,
// 1/255, no size), the Fast name, size as {height, width} only, errors naming the file and the field.
import { parsePreprocessorConfig } from '../../src/models/processor/preprocessorConfig.ts';
import { assertEquals, assertThrows } from '../gpu/assert.ts';

const FILE = 'ckpt/preprocessor_config.json';

Deno.test('SigLIP preprocessor_config: class defaults when fields are absent', () => {
  const p = parsePreprocessorConfig('{}', { file: FILE, assume: 'SiglipImageProcessor' });
  assertEquals(p.kind, 'siglip', 'kind');
  if (p.kind !== 'siglip') return;
  assertEquals([p.imageMean, p.imageStd], [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]], 'IMAGENET_STANDARD mean/std');
  assertEquals([p.resample, p.rescaleFactor, p.doResize, p.doRescale, p.doNormalize], ['bicubic', 1 / 255, true, true, true], 'resample, rescale, flags');
  assertEquals(p.size, null, 'no size in the file');
});

Deno.test('SigLIP preprocessor_config: fields as written, Fast class name, scalar mean', () => {
  const p = parsePreprocessorConfig({
    image_processor_type: 'SiglipImageProcessorFast', size: { height: 384, width: 384 }, resample: 2, image_mean: 0.25, image_std: [0.1, 0.2, 0.3],
    do_normalize: false, rescale_factor: 0.5,
  }, { file: FILE });
  if (p.kind !== 'siglip') throw new Error(`kind ${p.kind}`);
  assertEquals([p.size, p.resample, p.imageMean, p.imageStd, p.doNormalize, p.rescaleFactor], [
    { height: 384, width: 384 }, 'bilinear', [0.25, 0.25, 0.25], [0.1, 0.2, 0.3], false, 0.5,
  ], 'parsed fields');
});

Deno.test('SigLIP preprocessor_config: size must be {height, width}; bad fields name file and field', () => {
  const parse = (j: object) => () => parsePreprocessorConfig({ image_processor_type: 'SiglipImageProcessor', ...j }, { file: FILE });
  assertThrows(parse({ size: { shortest_edge: 384 } }), /^ckpt\/preprocessor_config\.json: field 'size': expected \{height, width\}, got \{"shortest_edge":384\}$/, 'shortest edge');
  assertThrows(parse({ size: 384 }), /^ckpt\/preprocessor_config\.json: field 'size': expected \{height, width\}, got 384$/, 'an int size');
  assertThrows(parse({ image_std: [0.5, 0, 0.5] }), /field 'image_std': expected non-zero values/, 'zero std');
  assertThrows(parse({ resample: 0 }), /field 'resample': expected 3 \(BICUBIC\) or 2 \(BILINEAR\)/, 'nearest');
  assertThrows(parse({ do_resize: 'yes' }), /field 'do_resize': expected a boolean, got "yes"/, 'flag type');
});
