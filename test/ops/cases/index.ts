// Every kernel family's cases, in one table.
import type { OpCase } from '../opCase.ts';
import { cases as add } from './add.ts';
import { cases as attention } from './attention.ts';
import { cases as kvWrite } from './kvWrite.ts';
import { cases as matmul } from './matmul.ts';

export const allCases: OpCase[] = [...add, ...attention, ...kvWrite, ...matmul];
