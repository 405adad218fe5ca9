// One-node ONNX models, encoded in protobuf by hand (ModelProto → GraphProto → NodeProto, onnx.proto3 field
// numbers), for the onnxruntime-web peer: no converter, no file, the graph built in the bench.

export type OnnxElem = 'float32' | 'float16' | 'int32';
/** dims null: the shape left to ORT's shape inference (outputs) */
export interface OnnxValue { name: string; elem: OnnxElem; dims: number[] | null }
export interface OnnxAttr { name: string; int?: number; float?: number }
export interface OnnxNode { op: string; domain?: string; inputs: string[]; outputs: string[]; attrs?: OnnxAttr[] }

const ELEM: Record<OnnxElem, number> = { float32: 1, float16: 10, int32: 6 }; // TensorProto.DataType

class Pb {
  private bytes: number[] = [];
  private varint(v: number): void {
    while (v > 0x7f) { this.bytes.push((v & 0x7f) | 0x80); v = Math.floor(v / 128); }
    this.bytes.push(v);
  }
  private key(field: number, wire: number): void { this.varint(field * 8 + wire); }
  int(field: number, v: number): this { this.key(field, 0); this.varint(v); return this; }
  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    this.bytes.push(...b);
    return this;
  }
  bytesField(field: number, b: Uint8Array): this { this.key(field, 2); this.varint(b.length); this.bytes.push(...b); return this; }
  str(field: number, s: string): this { return this.bytesField(field, new TextEncoder().encode(s)); }
  msg(field: number, m: Pb): this { return this.bytesField(field, m.done()); }
  done(): Uint8Array { return new Uint8Array(this.bytes); }
}

function valueInfo(v: OnnxValue): Pb {
  const tensor = new Pb().int(1, ELEM[v.elem]); // TypeProto.Tensor
  if (v.dims) {
    const shape = new Pb();
    for (const d of v.dims) shape.msg(1, new Pb().int(1, d)); // TensorShapeProto.dim.dim_value
    tensor.msg(2, shape);
  }
  return new Pb().str(1, v.name).msg(2, new Pb().msg(1, tensor)); // ValueInfoProto{name, type{tensor_type}}
}

/** A ModelProto (ir_version 8, opset 17 + com.microsoft 1) with one node. An empty input name is an absent input. */
export function oneNodeModel(node: OnnxNode, inputs: OnnxValue[], outputs: OnnxValue[]): Uint8Array {
  const n = new Pb();
  for (const i of node.inputs) n.str(1, i);
  for (const o of node.outputs) n.str(2, o);
  n.str(3, `${node.op}_0`).str(4, node.op);
  for (const a of node.attrs ?? []) {
    const at = new Pb().str(1, a.name);
    if (a.int !== undefined) at.int(3, a.int).int(20, 2); // AttributeProto.i, type INT
    else at.float(2, a.float!).int(20, 1); // .f, type FLOAT
    n.msg(5, at);
  }
  if (node.domain) n.str(7, node.domain);
  const g = new Pb().msg(1, n).str(2, `kvscope bench ${node.op}`);
  for (const v of inputs) g.msg(11, valueInfo(v));
  for (const v of outputs) g.msg(12, valueInfo(v));
  return new Pb().int(1, 8).str(2, 'kvscope').msg(7, g)
    .msg(8, new Pb().str(1, '').int(2, 17)).msg(8, new Pb().str(1, 'com.microsoft').int(2, 1)).done();
}
