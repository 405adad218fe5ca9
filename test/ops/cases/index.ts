// Every kernel family's cases, in one table.
import type { OpCase } from '../opCase.ts';
import { cases as add } from './add.ts';

export const allCases: OpCase[] = [...add];
