// Attention over the KV cache, flash style: softmax(q·kᵀ·scale + mask)·v with an online softmax (running max m,
// running sum l, rescaled accumulator), so the score matrix is never materialised.
//   q    [S_q, n_heads, d]            (the q projection, after RoPE)
//   k, v [n_kv_heads, capacity, d]    (the cache; positions ≥ kv_len are ignored)
//   out  [S_q, n_heads·d]
// GQA: query head h reads kv head h / (n_heads / n_kv_heads), straight from the cache layout.
// Masks, all optional and combined: causal (query i sees keys ≤ q_start + i); block-diagonal segments
// (cu_seqlens: query position p sees only keys of its own segment — Qwen2.5-VL window attention); a blocking
// spec (query i may not see key j when qbits[i] & kbits[j] ≠ 0 — the study's interventions).
// A query that may see no key at all gets zeros.
//
// Work is laid out by (query, head) pairs of one KV head: pair p = (query p / G, head kvh·G + p % G) with
// G = n_heads / n_kv_heads. A workgroup holds consecutive pairs of one KV head, so every key and value row it reads
// is the same for all its invocations, and it walks the union of its pairs' key ranges (ranges grow with the query
// index), each pair masking the keys it may not see. Keys go in blocks of 4: four scores, one rescale of the
// accumulator per block; rows past the range end are clamped reads with p = 0.
// `main`: TQ pairs per invocation, so each key and value row read serves TQ queries (on CPU adapters the loads,
// not the FMAs, bound the speed). `split` + `combine`: flash-decoding for few queries over a long cache — one pair
// per invocation, workgroup z = key slice; each slice writes its (m, l, acc) to `partials`, `combine` merges them.
// Loops over head_dim run to the constant MAX_D4 and break at d/4, so after unrolling the per-invocation arrays
// are indexed by constants (kept in registers/stack, not dynamically addressed).
// The kernels live in include/attention_flash.wgsl; this file reads an f32 cache, attention_f16.wgsl an f16 one.

@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;

fn load_k(i: u32) -> vec4<f32> { return k[i]; }
fn load_v(i: u32) -> vec4<f32> { return v[i]; }

//! include attention_flash
