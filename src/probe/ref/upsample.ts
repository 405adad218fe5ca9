// float64 reference for `bilinearUpsample` (src/probe/upsample.ts): the engine's interpolate reference.
export { interpolateBilinear as bilinearUpsample } from '../../ops/ref/interpolate.ts';
