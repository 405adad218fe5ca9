// float64 reference for `logisticRegression` and `predict` (src/probe/logisticRegression.ts): the same
// standardisation, zero init, loss and optimiser steps, in the same order.
import type { HostTensor } from '../../gpu/hostTensor.ts';
import { LOGISTIC_DEFAULTS, type LogisticRegressionOptions, resolveLogisticOptions } from '../logisticRegression.ts';

export interface HostLogisticModel { d: number; theta: Float64Array; mean: Float64Array; scale: Float64Array }

const sigmoid = (z: number) => z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));

function logit(m: HostLogisticModel, x: Float64Array, i: number): number {
  let z = m.theta[m.d];
  for (let e = 0; e < m.d; e++) z += m.theta[e] * (x[i * m.d + e] - m.mean[e]) * m.scale[e];
  return z;
}

export function logisticRegression(features: HostTensor, labels: ArrayLike<number>, opts: LogisticRegressionOptions = {}): HostLogisticModel {
  const o = resolveLogisticOptions(opts);
  const { beta1, beta2, adamEps, varEps } = LOGISTIC_DEFAULTS;
  const d = features.shape[features.shape.length - 1];
  const n = features.data.length / d;
  const x = features.data;
  const mean = new Float64Array(d), scale = new Float64Array(d).fill(1);
  if (o.standardize) {
    for (let e = 0; e < d; e++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += x[i * d + e];
      mean[e] = s / n;
      let v = 0;
      for (let i = 0; i < n; i++) v += (x[i * d + e] - mean[e]) ** 2;
      scale[e] = 1 / Math.sqrt(v / n + varEps);
    }
  }
  const m: HostLogisticModel = { d, theta: new Float64Array(d + 1), mean, scale };
  const m1 = new Float64Array(d + 1), m2 = new Float64Array(d + 1);
  const resid = new Float64Array(n);
  for (let t = 1; t <= o.steps; t++) {
    for (let i = 0; i < n; i++) resid[i] = sigmoid(logit(m, x, i)) - labels[i];
    const c1 = 1 / (1 - beta1 ** t), c2 = 1 / (1 - beta2 ** t);
    const g = new Float64Array(d + 1);
    for (let e = 0; e <= d; e++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += resid[i] * (e === d ? 1 : (x[i * d + e] - mean[e]) * scale[e]);
      g[e] = s / n + (e === d ? 0 : o.weightDecay * m.theta[e]);
    }
    for (let e = 0; e <= d; e++) {
      if (o.optimizer === 'gd') { m.theta[e] -= o.lr * g[e]; continue; }
      m1[e] = beta1 * m1[e] + (1 - beta1) * g[e];
      m2[e] = beta2 * m2[e] + (1 - beta2) * g[e] ** 2;
      m.theta[e] -= o.lr * (m1[e] * c1) / (Math.sqrt(m2[e] * c2) + adamEps);
    }
  }
  return m;
}

export function predict(model: HostLogisticModel, features: HostTensor): Float64Array {
  const n = features.data.length / model.d;
  return Float64Array.from({ length: n }, (_, i) => sigmoid(logit(model, features.data, i)));
}
