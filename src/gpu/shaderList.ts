// Every kernel file under shaders/ (include/ excluded): loaded and compiled once when a device is acquired.
// test/gpu/runtime.test.ts checks this list against the folder.
export const SHADERS = [
  'activation',
  'add',
  'argmax',
  'attention',
  'attention_f16',
  'attention_tiled',
  'embedding',
  'feature_gather',
  'interpolate',
  'key_consistency',
  'kv_write',
  'matmul',
  'matmul_subgroups',
  'matmul_xh',
  'norm',
  'probe/co_segmentation',
  'probe/correspondence',
  'probe/kmeans',
  'probe/l2_normalize',
  'probe/label_propagation',
  'probe/logistic_regression',
  'probe/score_map',
  'probe/top_k',
  'roofline',
  'roofline_f16',
  'rope',
  'rows',
  'selftest_basic',
  'selftest_f16',
  'selftest_subgroups',
  'softmax',
] as const;

/** Shaders that need an optional device feature: compiled only where the device has it. */
export const SHADER_FEATURES: Record<string, string> = {
  attention_f16: 'shader-f16',
  matmul_subgroups: 'subgroups',
  roofline_f16: 'shader-f16',
  selftest_f16: 'shader-f16',
  selftest_subgroups: 'subgroups',
};
