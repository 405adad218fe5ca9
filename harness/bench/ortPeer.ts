// The onnxruntime-web WebGPU execution provider as a peer: one-node ONNX graphs (harness/bench/onnxGraph.ts) —
// MatMul for the projections; com.microsoft MultiHeadAttention (bidirectional) and GroupQueryAttention (causal
// prefill, decode over a past cache) for attention — run on ORT's own WebGPU device on the same adapter. Inputs are
// GPU buffers on that device and outputs stay there ('gpu-buffer'), so nothing is uploaded or read back while
// timed; time is the bench's one method (timeOnQueue on ORT's device). A wrong result is reported, not timed.
import { type OnnxValue, oneNodeModel } from './onnxGraph.ts';
import { timeOnQueue } from './timing.ts';

type Ort = typeof import('onnxruntime-web/webgpu');
let ortPromise: Promise<Ort | string> | null = null;

async function loadOrt(): Promise<Ort | string> {
  try {
    const ort = await import('onnxruntime-web/webgpu');
    ort.env.wasm.numThreads = 1; // no worker threads: the wasm side only schedules, the work is on the GPU
    // Deno and bundlers: the wasm files come from the package's dist folder next to node_modules
    if (typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined') {
      ort.env.wasm.wasmPaths = new URL('../../node_modules/onnxruntime-web/dist/', import.meta.url).href;
    }
    ort.env.logLevel = 'error';
    return ort;
  } catch (e) {
    return `onnxruntime-web webgpu unavailable: ${(e as Error).message}`;
  }
}

export type PeerResult = { ms: number; note?: string } | { error: string };

interface Feed { value: OnnxValue; fill: number }

/**
 * Median ms of one session.run of a one-node graph whose inputs are filled with constants, after checking output 0
 * against `expect(index)` at its first and last element.
 */
async function timeGraph(node: Parameters<typeof oneNodeModel>[0], feeds: Feed[], extras: Record<string, Int32Array>, outputs: OnnxValue[], expect: number, reps: number, budgetMs = Infinity): Promise<PeerResult> {
  ortPromise ??= loadOrt();
  const loaded = await ortPromise;
  if (typeof loaded === 'string') return { error: loaded };
  const ort = loaded;
  const inputs: OnnxValue[] = [...feeds.map((f) => f.value), ...Object.keys(extras).map((name) => ({ name, elem: 'int32' as const, dims: name === 'total_sequence_length' ? [] : [1] }))];
  const buffers: GPUBuffer[] = [];
  try {
    const session = await ort.InferenceSession.create(oneNodeModel(node, inputs, outputs), {
      executionProviders: ['webgpu'], preferredOutputLocation: 'gpu-buffer', graphOptimizationLevel: 'disabled', logSeverityLevel: 3,
    });
    const device = await ort.env.webgpu.device as GPUDevice; // ORT's own device, made with the first session
    const tensors: Record<string, unknown> = {};
    for (const f of feeds) {
      const n = f.value.dims!.reduce((a, b) => a * b, 1);
      const buf = device.createBuffer({ size: Math.ceil((4 * n) / 16) * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      device.queue.writeBuffer(buf, 0, new Float32Array(n).fill(f.fill));
      buffers.push(buf);
      tensors[f.value.name] = ort.Tensor.fromGpuBuffer(buf, { dataType: 'float32', dims: f.value.dims! });
    }
    for (const [name, v] of Object.entries(extras)) tensors[name] = new ort.Tensor('int32', v, name === 'total_sequence_length' ? [] : [v.length]);
    type Out = Record<string, { getData(release?: boolean): Promise<unknown>; dispose(): void; dims: readonly number[] }>;
    const run = async () => await session.run(tensors as never) as unknown as Out;
    const first = await run();
    const y = (await first[outputs[0].name].getData()) as Float32Array;
    for (const o of Object.values(first)) o.dispose();
    if (Math.abs(y[0] - expect) > 1e-3 * Math.abs(expect) + 1e-3 || Math.abs(y[y.length - 1] - expect) > 1e-3 * Math.abs(expect) + 1e-3) {
      await session.release();
      return { error: `onnxruntime-web ${node.op} computed a wrong result (y[0] = ${y[0]}, y[last] = ${y[y.length - 1]}, expected ${expect}) — not timed` };
    }
    // the checked run above compiled the graph's kernels: it is the warmup
    const ms = await timeOnQueue(device, reps, async () => {
      const out = await run();
      for (const o of Object.values(out)) o.dispose();
    }, 0, budgetMs);
    await session.release();
    return { ms };
  } catch (e) {
    return { error: `onnxruntime-web ${node.op} failed: ${(e as Error).message.split('\n')[0]}` };
  } finally {
    for (const b of buffers) b.destroy();
  }
}

/** y = x·W with x [m, k] and W [k, n] (ONNX MatMul takes W transposed relative to nn.Linear; same flops). */
export function ortMatmulMs(m: number, n: number, k: number, reps: number, budgetMs = Infinity): Promise<PeerResult> {
  // all-ones x, W = 1/k: every output is exactly 1... up to rounding; 1/k in f32 summed k times
  return timeGraph({ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] },
    [{ value: { name: 'x', elem: 'float32', dims: [m, k] }, fill: 1 }, { value: { name: 'w', elem: 'float32', dims: [k, n] }, fill: 1 / 1024 }],
    {}, [{ name: 'y', elem: 'float32', dims: [m, n] }], k / 1024, reps, budgetMs);
}

export interface AttnShape { tokens: number; kv: number; heads: number; kvHeads: number; d: number; causal: boolean }

/**
 * Attention with all-ones V (so every output is 1 whatever the scores): bidirectional prefill through
 * MultiHeadAttention (which has no GQA: K and V are given at all `heads` heads, the same flops, more bytes), causal
 * prefill and decode through GroupQueryAttention (KV heads as in the model; decode reads a past cache of kv − 1).
 */
export function ortAttentionMs(s: AttnShape, reps: number, budgetMs = Infinity): Promise<PeerResult> {
  const { tokens, kv, heads, kvHeads, d } = s;
  const out: OnnxValue = { name: 'out', elem: 'float32', dims: [1, tokens, heads * d] };
  if (!s.causal) {
    return timeGraph({ op: 'MultiHeadAttention', domain: 'com.microsoft', inputs: ['q', 'k', 'v'], outputs: ['out'], attrs: [{ name: 'num_heads', int: heads }] },
      [{ value: { name: 'q', elem: 'float32', dims: [1, tokens, heads * d] }, fill: 0.01 },
        { value: { name: 'k', elem: 'float32', dims: [1, kv, heads * d] }, fill: 0.01 },
        { value: { name: 'v', elem: 'float32', dims: [1, kv, heads * d] }, fill: 1 }], {}, [out], 1, reps, budgetMs);
  }
  const past = kv - tokens;
  const feeds: Feed[] = [
    { value: { name: 'q', elem: 'float32', dims: [1, tokens, heads * d] }, fill: 0.01 },
    { value: { name: 'k', elem: 'float32', dims: [1, tokens, kvHeads * d] }, fill: 0.01 },
    { value: { name: 'v', elem: 'float32', dims: [1, tokens, kvHeads * d] }, fill: 1 },
  ];
  if (past > 0) {
    feeds.push({ value: { name: 'past_key', elem: 'float32', dims: [1, kvHeads, past, d] }, fill: 0.01 });
    feeds.push({ value: { name: 'past_value', elem: 'float32', dims: [1, kvHeads, past, d] }, fill: 1 });
  }
  return timeGraph({
    op: 'GroupQueryAttention', domain: 'com.microsoft',
    inputs: ['q', 'k', 'v', past > 0 ? 'past_key' : '', past > 0 ? 'past_value' : '', 'seqlens_k', 'total_sequence_length'],
    outputs: ['out', 'present_key', 'present_value'],
    attrs: [{ name: 'num_heads', int: heads }, { name: 'kv_num_heads', int: kvHeads }],
  }, feeds, { seqlens_k: new Int32Array([kv - 1]), total_sequence_length: new Int32Array([kv]) },
  [out, { name: 'present_key', elem: 'float32', dims: null }, { name: 'present_value', elem: 'float32', dims: null }], 1, reps, budgetMs);
}
