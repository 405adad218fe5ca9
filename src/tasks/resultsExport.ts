// results.jsonl's rows as tables a notebook opens directly: CSV (RFC 4180 quoting) and Parquet (hyparquet-writer),
// one row per (tap, layer, metric); the fixed columns first, then any extra fields the task adds (subtask, ...).
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { ResultRow } from './resultsLog.ts';

const FIXED = ['task', 'tap', 'layer', 'metric', 'value', 'n'] as const;

/** Column names: the fixed ones, then extra fields in order of first appearance. */
export function resultColumns(rows: readonly ResultRow[]): string[] {
  const extra: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!(FIXED as readonly string[]).includes(k) && !extra.includes(k)) extra.push(k);
  return [...FIXED, ...extra];
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV with a header line; null (a tap without layers) is an empty cell; numbers as JSON writes them (round trip). */
export function resultsCsv(rows: readonly ResultRow[]): string {
  const cols = resultColumns(rows);
  return [cols.join(','), ...rows.map((r) => cols.map((c) => csvCell((r as Record<string, unknown>)[c])).join(','))].join('\n') + '\n';
}

/** Parquet: strings as UTF-8, layer INT32 (null without layers), value DOUBLE, n INT32; extra fields as strings or doubles. */
export function resultsParquet(rows: readonly ResultRow[]): Uint8Array {
  const cols = resultColumns(rows);
  const columnData = cols.map((name) => {
    const data = rows.map((r) => (r as Record<string, unknown>)[name] ?? null);
    const numeric = data.every((v) => v === null || typeof v === 'number');
    const type = name === 'layer' || name === 'n' ? 'INT32' : name === 'value' || (numeric && name !== 'task') ? 'DOUBLE' : 'STRING';
    return { name, data: type === 'STRING' ? data.map((v) => (v === null ? null : typeof v === 'string' ? v : JSON.stringify(v))) : data, type } as const;
  });
  return new Uint8Array(parquetWriteBuffer({ columnData: columnData as Parameters<typeof parquetWriteBuffer>[0]['columnData'] }));
}
