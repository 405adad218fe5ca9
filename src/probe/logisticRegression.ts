// Few-shot binary logistic regression trained full-batch on the GPU (shaders/probe/logistic_regression.wgsl), the
// "linear classifier" of the Pascal-5i probe (protocols §3.1, the plain alternative to RePRI): p = σ(w·x̃ + b) on
// (optionally standardised) features, mean cross-entropy + ½λ‖w‖², fixed steps of Adam or gradient descent from
// w = 0, b = 0. The paper leaves optimiser, steps and regularisation open; these defaults are kvscope's choice.
import { OpArgumentError } from '../gpu/errors.ts';
import type { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { expectDType } from '../ops/check.ts';
import { grid1d } from '../ops/grid.ts';

export interface LogisticRegressionOptions {
  /** Full-batch steps. Default 300. */
  steps?: number;
  /** Learning rate. Default 0.01 (Adam) / 0.5 (gd). */
  lr?: number;
  /** λ of the L2 penalty ½λ‖w‖² (bias excluded). Default 1e-3. */
  weightDecay?: number;
  /** Default 'adam' (β₁ 0.9, β₂ 0.999, eps 1e-8, bias-corrected, as torch.optim.Adam). */
  optimizer?: 'adam' | 'gd';
  /** Standardise each feature with the training mean and population std (+ eps 1e-5 under the root). Default true. */
  standardize?: boolean;
}

export const LOGISTIC_DEFAULTS = { steps: 300, lrAdam: 0.01, lrGd: 0.5, weightDecay: 1e-3, beta1: 0.9, beta2: 0.999, adamEps: 1e-8, varEps: 1e-5 } as const;

/** A trained classifier: theta = [w (d), b] and the standardisation [μ (d), s (d)], on the GPU. */
export interface LogisticModel {
  readonly d: number;
  readonly theta: Tensor<'f32'>;
  readonly stats: Tensor<'f32'>;
  dispose(): void;
}

const WG = 64;

function uniforms(n: number, d: number, rowStride: number, o: Required<LogisticRegressionOptions>, t: number) {
  const { beta1, beta2, adamEps, varEps } = LOGISTIC_DEFAULTS;
  return {
    n, d, standardize: o.standardize ? 1 : 0, adam: o.optimizer === 'adam' ? 1 : 0, row_stride: rowStride,
    lr: o.lr, weight_decay: o.weightDecay, beta1, beta2, adam_eps: adamEps,
    c1: 1 / (1 - Math.pow(beta1, t)), c2: 1 / (1 - Math.pow(beta2, t)), var_eps: varEps,
  };
}

export function resolveLogisticOptions(opts: LogisticRegressionOptions): Required<LogisticRegressionOptions> {
  const optimizer = opts.optimizer ?? 'adam';
  const o = {
    steps: opts.steps ?? LOGISTIC_DEFAULTS.steps, optimizer,
    lr: opts.lr ?? (optimizer === 'adam' ? LOGISTIC_DEFAULTS.lrAdam : LOGISTIC_DEFAULTS.lrGd),
    weightDecay: opts.weightDecay ?? LOGISTIC_DEFAULTS.weightDecay, standardize: opts.standardize ?? true,
  };
  const op = 'logisticRegression';
  if (optimizer !== 'adam' && optimizer !== 'gd') throw new OpArgumentError(op, `optimizer must be 'adam' or 'gd', got ${optimizer}`);
  if (!Number.isInteger(o.steps) || o.steps < 0) throw new OpArgumentError(op, `steps must be an integer ≥ 0, got ${o.steps}`);
  if (!(o.lr > 0)) throw new OpArgumentError(op, `lr must be > 0, got ${o.lr}`);
  if (!(o.weightDecay >= 0)) throw new OpArgumentError(op, `weightDecay must be ≥ 0, got ${o.weightDecay}`);
  return o;
}

/** Train on features [..., d] (n rows) with labels [n] f32 in {0, 1}. */
export async function logisticRegression(stage: Stage, features: Tensor<'f32'>, labels: Tensor<'f32'>, opts: LogisticRegressionOptions = {}): Promise<LogisticModel> {
  const op = 'logisticRegression';
  expectDType(op, 'features', features, ['f32']);
  expectDType(op, 'labels', labels, ['f32']);
  const n = features.rows, d = features.rowLength;
  if (labels.numel !== n) throw new OpArgumentError(op, `labels (${labels.label}) has ${labels.numel} values, features (${features.label}) has ${n} rows`);
  if (n < 1) throw new OpArgumentError(op, 'no training rows');
  const o = resolveLogisticOptions(opts);
  const gpu = stage.gpu;
  const stats = Tensor.empty(gpu, 'f32', [2, d], 'logistic standardisation');
  const theta = Tensor.from(gpu, 'f32', [d + 1], new Float32Array(d + 1), 'logistic weights');
  const m1 = Tensor.from(gpu, 'f32', [d + 1], new Float32Array(d + 1), 'adam m');
  const m2 = Tensor.from(gpu, 'f32', [d + 1], new Float32Array(d + 1), 'adam v');
  const resid = Tensor.empty(gpu, 'f32', [n], 'logistic residuals');
  const rows = grid1d(n, WG, gpu.limits.maxComputeWorkgroupsPerDimension);
  const k = (e: string) => gpu.kernels.get('probe/logistic_regression', e);
  const [moments, residual, step] = await Promise.all(['moments', 'residual', 'step'].map(k));
  const tag = `logisticRegression n=${n} d=${d}`;
  stage.dispatch(moments, { label: `${tag} moments`, bindings: { x: features.buffer(op), stats: stats.buffer(op) }, uniforms: uniforms(n, d, rows.rowStride, o, 1), workgroups: [Math.ceil(d / WG)] });
  for (let t = 1; t <= o.steps; t++) {
    const u = uniforms(n, d, rows.rowStride, o, t);
    stage.dispatch(residual, {
      label: `${tag} residual ${t}`, uniforms: u, workgroups: rows.workgroups,
      bindings: { x: features.buffer(op), y: labels.buffer(op), stats_in: stats.buffer(op), theta_in: theta.buffer(op), resid: resid.buffer(op) },
    });
    stage.dispatch(step, {
      label: `${tag} ${o.optimizer} step ${t}`, uniforms: u, workgroups: [Math.ceil((d + 1) / WG)],
      bindings: { x: features.buffer(op), stats_in: stats.buffer(op), resid_in: resid.buffer(op), theta: theta.buffer(op), moment1: m1.buffer(op), moment2: m2.buffer(op) },
    });
  }
  stage.onDone(() => { m1.dispose(); m2.dispose(); resid.dispose(); });
  return { d, theta, stats, dispose: () => { theta.dispose(); stats.dispose(); } };
}

/** Foreground probabilities σ(w·x̃ + b) of query features [..., d] -> [...] (e.g. a [rows, cols] map). */
export async function predict(stage: Stage, model: LogisticModel, features: Tensor<'f32'>): Promise<Tensor<'f32'>> {
  const op = 'predict';
  expectDType(op, 'features', features, ['f32']);
  if (features.rowLength !== model.d) throw new OpArgumentError(op, `features (${features.label}) rows have ${features.rowLength} values, the model was trained on ${model.d}`);
  const n = features.rows, d = model.d;
  const shape = features.shape.slice(0, -1);
  const prob = Tensor.empty(stage.gpu, 'f32', shape.length ? shape : [1], `foreground probability(${features.label})`);
  const rows = grid1d(n, WG, stage.gpu.limits.maxComputeWorkgroupsPerDimension);
  const o = resolveLogisticOptions({});
  stage.dispatch(stage.gpu.kernels.get('probe/logistic_regression', 'predict'), {
    label: `logistic predict n=${n} d=${d}`, uniforms: uniforms(n, d, rows.rowStride, o, 1), workgroups: rows.workgroups,
    bindings: { x: features.buffer(op), stats_in: model.stats.buffer(op), theta_in: model.theta.buffer(op), prob: prob.buffer(op) },
  });
  return prob;
}
