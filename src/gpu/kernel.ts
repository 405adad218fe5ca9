// Kernel registry: WGSL files parsed with wgsl_reflect give the bind group layout and the byte layout
// of the uniform struct; pipelines are cached by (shader, entry point, override constants).
// @ts-types="../../node_modules/wgsl_reflect/types/index.d.ts"
import { WgslReflect } from 'wgsl_reflect';

// wgsl_reflect's ResourceType values (its enum is not exported by the CommonJS build Deno loads).
const ResourceType = { Uniform: 0, Storage: 1 } as const;

/** Where shader sources come from; the browser app may install a bundler-provided source. */
export type ShaderSource = (name: string) => Promise<string>;

let shaderSource: ShaderSource = async (name) => {
  const url = new URL(`../../shaders/${name}.wgsl`, import.meta.url);
  const res = await fetch(url).catch((e: Error) => {
    throw new Error(`shader ${name}.wgsl not found at ${url}: ${e.message}`);
  });
  if (!res.ok) throw new Error(`shader ${name}.wgsl not found at ${url} (HTTP ${res.status})`);
  return await res.text();
};

export function setShaderSource(source: ShaderSource): void {
  shaderSource = source;
}

type UniformScalar = 'u32' | 'i32' | 'f32';
interface UniformField { name: string; offset: number; scalar: UniformScalar; count: number }

export interface BindingInfo {
  name: string;
  binding: number;
  kind: 'uniform' | 'read-only-storage' | 'storage';
}

/** A compiled compute pipeline and what it needs to be bound. */
export interface Kernel {
  readonly key: string;
  readonly shader: string;
  readonly entry: string;
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly bindings: readonly BindingInfo[];
  /** The uniform struct's fields (by name) and byte size; null when the kernel has no uniform. */
  readonly uniform: { binding: string; size: number; fields: readonly UniformField[] } | null;
  readonly workgroupSize: readonly [number, number, number];
  /** The validation error of building the pipeline, if any (stages that dispatch it report it). */
  readonly built?: Promise<string | null>;
}

interface ParsedShader { code: string; reflect: WgslReflect; module: GPUShaderModule }

function scalarOf(typeName: string, where: string): { scalar: UniformScalar; count: number } {
  const m = /^(?:vec([234])<)?(u32|i32|f32)>?$/.exec(typeName.replace(/\s/g, ''));
  const v = /^vec([234])([uif])$/.exec(typeName);
  if (v) return { scalar: (v[2] === 'u' ? 'u32' : v[2] === 'i' ? 'i32' : 'f32'), count: Number(v[1]) };
  if (!m) throw new Error(`${where}: uniform field type ${typeName} is not supported (use u32, i32, f32 or vecN of them)`);
  return { scalar: m[2] as UniformScalar, count: m[1] ? Number(m[1]) : 1 };
}

/** `//! include NAME` lines: replaced by shaders/include/NAME.wgsl (once per shader, nested includes allowed). */
const INCLUDE = /^[ \t]*\/\/! include ([A-Za-z0-9_]+)[ \t]*$/gm;

async function expandIncludes(name: string, code: string, seen = new Set<string>()): Promise<string> {
  const parts: string[] = [];
  let last = 0;
  for (const m of code.matchAll(INCLUDE)) {
    parts.push(code.slice(last, m.index));
    last = m.index! + m[0].length;
    const inc = m[1];
    if (seen.has(inc)) continue;
    seen.add(inc);
    const src = await shaderSource(`include/${inc}`).catch((e: Error) => {
      throw new Error(`shaders/${name}.wgsl includes ${inc}: ${e.message}`);
    });
    parts.push(await expandIncludes(name, src, seen));
  }
  parts.push(code.slice(last));
  return parts.join('');
}

/**
 * Per-device cache of parsed shaders and pipelines. Shader sources are fetched, expanded and compiled once by
 * `load` (at device acquisition); after that `get` is synchronous, so ops encode without awaiting anything.
 */
export class KernelRegistry {
  private shaders = new Map<string, ParsedShader>();
  private kernels = new Map<string, Kernel>();

  constructor(private device: GPUDevice) {}

  /** Fetch, expand (`//! include`), reflect and compile these shaders; compile errors name the file. */
  async load(names: readonly string[]): Promise<void> {
    await Promise.all(names.filter((n) => !this.shaders.has(n)).map(async (name) => {
      const code = await expandIncludes(name, await shaderSource(name));
      let reflect: WgslReflect;
      try {
        reflect = new WgslReflect(code);
      } catch (e) {
        throw new Error(`shaders/${name}.wgsl: wgsl_reflect could not parse it: ${(e as Error).message}`);
      }
      this.device.pushErrorScope('validation');
      const module = this.device.createShaderModule({ code, label: name });
      const err = await this.device.popErrorScope();
      if (err) throw new Error(`shaders/${name}.wgsl failed to compile: ${err.message}`);
      this.shaders.set(name, { code, reflect, module });
    }));
  }

  /** Whether `load` has compiled this shader. */
  has(shader: string): boolean {
    return this.shaders.has(shader);
  }

  /**
   * The pipeline for `entry` in `shaders/<shader>.wgsl` with the given override constants, built on first use
   * (synchronously; a pipeline error surfaces in the enclosing Stage's error scope) and cached: the same
   * (shader, entry, overrides) never compiles twice.
   */
  get(shader: string, entry = 'main', overrides: Record<string, number> = {}): Kernel {
    const ov = Object.keys(overrides).sort().map((k) => `${k}=${overrides[k]}`).join(',');
    const key = `${shader}:${entry}{${ov}}`;
    let k = this.kernels.get(key);
    if (!k) {
      k = this.build(shader, entry, overrides, key);
      this.kernels.set(key, k);
    }
    return k;
  }

  get size(): number {
    return this.kernels.size;
  }

  private build(shader: string, entry: string, overrides: Record<string, number>, key: string): Kernel {
    const parsed = this.shaders.get(shader);
    if (!parsed) throw new Error(`shaders/${shader}.wgsl is not loaded (known: ${[...this.shaders.keys()].join(', ')}); add it to SHADERS in src/gpu/shaderList.ts`);
    const { reflect, module } = parsed;
    const fn = reflect.entry.compute.find((f) => f.name === entry);
    if (!fn) {
      const names = reflect.entry.compute.map((f) => f.name).join(', ');
      throw new Error(`shaders/${shader}.wgsl has no compute entry point '${entry}' (has: ${names})`);
    }
    const known = new Set(reflect.overrides.map((o) => o.name));
    for (const k of Object.keys(overrides)) {
      if (!known.has(k)) throw new Error(`shaders/${shader}.wgsl has no override constant '${k}' (has: ${[...known].join(', ')})`);
    }
    // Resources the entry point uses (transitively); fall back to every group-0 resource.
    const used = fn.resources.length ? fn.resources : (reflect.getBindGroups()[0] ?? []);
    const bindings: BindingInfo[] = [];
    let uniform: Kernel['uniform'] = null;
    for (const v of used) {
      if (v.group !== 0) throw new Error(`shaders/${shader}.wgsl: only @group(0) is supported, found ${v.name} in group ${v.group}`);
      if (v.resourceType === ResourceType.Uniform) {
        bindings.push({ name: v.name, binding: v.binding, kind: 'uniform' });
        const members = v.members;
        if (!members) throw new Error(`shaders/${shader}.wgsl: uniform ${v.name} must be a struct`);
        const fields = members.map((m) => {
          const { scalar, count } = scalarOf(m.type.getTypeName(), `shaders/${shader}.wgsl uniform ${v.name}.${m.name}`);
          return { name: m.name, offset: m.offset, scalar, count };
        });
        uniform = { binding: v.name, size: Math.max(16, Math.ceil(v.size / 16) * 16), fields };
      } else if (v.resourceType === ResourceType.Storage) {
        bindings.push({ name: v.name, binding: v.binding, kind: v.access === 'read_write' ? 'storage' : 'read-only-storage' });
      } else {
        throw new Error(`shaders/${shader}.wgsl: resource ${v.name} is not a buffer; compute kernels here bind buffers only`);
      }
    }
    bindings.sort((a, b) => a.binding - b.binding);
    const layout = this.device.createBindGroupLayout({
      label: key,
      entries: bindings.map((b) => ({ binding: b.binding, visibility: GPUShaderStage.COMPUTE, buffer: { type: b.kind } })),
    });
    this.device.pushErrorScope('validation');
    const pipeline = this.device.createComputePipeline({
      label: key,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: entry, constants: overrides },
    });
    const built = this.device.popErrorScope().then((e) => (e ? `pipeline ${key} failed to build: ${e.message}` : null), () => null);
    const wg = fn.workgroupSize ?? [1, 1, 1];
    return { key, shader, entry, pipeline, layout, bindings, uniform, workgroupSize: [wg[0] ?? 1, wg[1] ?? 1, wg[2] ?? 1], built };
  }
}

/** Pack uniform values by field name into the struct's byte layout. Every field must be given, no extras. */
export function packUniform(kernel: Kernel, values: Record<string, number | readonly number[]>): ArrayBuffer {
  const u = kernel.uniform;
  if (!u) throw new Error(`${kernel.key} has no uniform struct, but uniform values were given`);
  const buf = new ArrayBuffer(u.size);
  const dv = new DataView(buf);
  const given = new Set(Object.keys(values));
  for (const f of u.fields) {
    const v = values[f.name];
    if (v === undefined) throw new Error(`${kernel.key}: uniform field '${f.name}' was not given`);
    given.delete(f.name);
    const arr = typeof v === 'number' ? [v] : v;
    if (arr.length !== f.count) throw new Error(`${kernel.key}: uniform field '${f.name}' takes ${f.count} value(s), got ${arr.length}`);
    for (let i = 0; i < f.count; i++) {
      const x = arr[i];
      const off = f.offset + 4 * i;
      if (f.scalar === 'f32') dv.setFloat32(off, x, true);
      else {
        if (!Number.isInteger(x)) throw new Error(`${kernel.key}: uniform field '${f.name}' is ${f.scalar}, got ${x}`);
        if (f.scalar === 'u32') {
          if (x < 0 || x > 0xffffffff) throw new Error(`${kernel.key}: uniform field '${f.name}' = ${x} is out of u32 range`);
          dv.setUint32(off, x, true);
        } else dv.setInt32(off, x, true);
      }
    }
  }
  if (given.size) throw new Error(`${kernel.key}: unknown uniform field(s) ${[...given].join(', ')}; the struct has ${u.fields.map((f) => f.name).join(', ')}`);
  return buf;
}
