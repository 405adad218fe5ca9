// Every kernel family's cases, in one table.
import type { OpCase } from '../opCase.ts';
import { cases as activation } from './activation.ts';
import { cases as add } from './add.ts';
import { cases as attention } from './attention.ts';
import { cases as embedding } from './embedding.ts';
import { cases as featureGather } from './featureGather.ts';
import { cases as interpolate } from './interpolate.ts';
import { cases as kvWrite } from './kvWrite.ts';
import { cases as matmul } from './matmul.ts';
import { cases as norm } from './norm.ts';
import { cases as rope } from './rope.ts';
import { cases as rowReduce } from './rowReduce.ts';
import { cases as rows } from './rows.ts';

export const allCases: OpCase[] = [...activation, ...add, ...attention, ...embedding, ...featureGather, ...interpolate, ...kvWrite, ...matmul, ...norm, ...rope, ...rowReduce, ...rows];
