// Argument checks shared by the ops: every mismatch throws before anything is dispatched.
import type { DType } from '../gpu/dtype.ts';
import { OpArgumentError } from '../gpu/errors.ts';
import { shapeString, type Tensor } from '../gpu/tensor.ts';

export function expectDType(op: string, name: string, t: Tensor, allowed: readonly DType[]): void {
  if (!allowed.includes(t.dtype)) {
    throw new OpArgumentError(op, `${name} (${t.label}) must be ${allowed.join(' or ')}, found ${t.dtype}`);
  }
}

export function expectShape(op: string, name: string, t: Tensor, shape: readonly number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new OpArgumentError(op, `${name} (${t.label}) must have shape ${shapeString(shape)}, found ${shapeString(t.shape)}`);
  }
}

export function expectRank(op: string, name: string, t: Tensor, ranks: readonly number[]): void {
  if (!ranks.includes(t.rank)) {
    throw new OpArgumentError(op, `${name} (${t.label}) must have rank ${ranks.join(' or ')}, found ${shapeString(t.shape)}`);
  }
}

