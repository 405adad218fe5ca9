// Every probe kernel family's cases, in one table (same OpCase shape as test/ops/cases).
import type { OpCase } from '../../ops/opCase.ts';
import { cases as correspondence } from './correspondence.ts';
import { cases as kmeans } from './kmeans.ts';
import { cases as labelPropagation } from './labelPropagation.ts';
import { cases as logisticRegression } from './logisticRegression.ts';
import { cases as nearestNeighbours } from './nearestNeighbours.ts';
import { cases as similarity } from './similarity.ts';
import { cases as textDotProduct } from './textDotProduct.ts';

export const probeCases: OpCase[] = [...similarity, ...nearestNeighbours, ...correspondence, ...labelPropagation, ...kmeans, ...logisticRegression, ...textDotProduct];
