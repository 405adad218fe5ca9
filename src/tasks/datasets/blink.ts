// BLINK (HF BLINK-Benchmark/BLINK): one parquet per subtask and split,
//   <Subtask>/{val,test}-00000-of-00001.parquet
// columns idx ("val_Art_Style_1"), question, sub_task, image_1..image_4 (HF Image = struct {bytes, path}, unused
// slots null), choices (list<string>), answer ("(A)"…, "hidden" on test), prompt, explanation.
// Visual prompts (REF / A–D markers, boxes) are drawn into the pixels; there are no coordinate fields.

import type { RgbImage } from '../../io/rgbImage.ts';
import {
  type DatasetReader, DatasetError, FieldReader, type FileTree, type ImageCodec, joinPath, parquetColumns,
  readParquetRows, expectLayout } from './dataset.ts';

export const BLINK_SUBTASKS = [
  'Art_Style', 'Counting', 'Forensic_Detection', 'Functional_Correspondence', 'IQ_Test', 'Jigsaw',
  'Multi-view_Reasoning', 'Object_Localization', 'Relative_Depth', 'Relative_Reflectance',
  'Semantic_Correspondence', 'Spatial_Relation', 'Visual_Correspondence', 'Visual_Similarity',
] as const;
export type BlinkSubtask = typeof BLINK_SUBTASKS[number];

export interface BlinkQuestion {
  readonly idx: string;
  readonly subtask: string;
  readonly question: string;
  readonly choices: readonly string[];
  /** "(A)" … or "hidden" (test split). */
  readonly answer: string;
  /** 0-based choice of the answer; null when hidden. */
  readonly answerIndex: number | null;
  /** Full prompt with the options, as the paper used it ('' if the column is absent). */
  readonly prompt: string;
  readonly explanation: string;
  /** Images in slot order (image_1 first); `slot` is the 1-based column number. */
  readonly images: readonly { readonly slot: number; readonly path: string; readonly image: RgbImage }[];
}

export interface BlinkOptions {
  subtask: BlinkSubtask;
  split: 'val' | 'test';
  /** Parquet path relative to the root (default <Subtask>/<split>-00000-of-00001.parquet). */
  file?: string;
}

const IMAGE_SLOTS = ['image_1', 'image_2', 'image_3', 'image_4'];

export class BlinkReader implements DatasetReader<BlinkQuestion> {
  readonly name: string;
  readonly file: string;
  private index?: Promise<{ ids: string[]; row: Map<string, number>; columns: string[]; groups: number[] }>;
  /** Rows of the row group read last: parquet reads whole column chunks, so consecutive reads share them. */
  private block?: { start: number; end: number; rows: Promise<Record<string, unknown>[]> };
  constructor(readonly files: FileTree, readonly codec: ImageCodec, readonly options: BlinkOptions) {
    if (!(BLINK_SUBTASKS as readonly string[]).includes(options.subtask)) {
      throw new Error(`BLINK: unknown subtask "${options.subtask}" (known: ${BLINK_SUBTASKS.join(', ')})`);
    }
    this.name = `blink/${options.subtask}/${options.split}`;
    this.file = options.file ?? `${options.subtask}/${options.split}-00000-of-00001.parquet`;
  }

  private load() {
    return this.index ??= (async () => {
      const { columns, rowGroups } = await parquetColumns(this.files, this.file);
      const rows = await readParquetRows(this.files, this.file, ['idx']);
      const path = joinPath(this.files.root, this.file);
      const ids = rows.map((r, i) => new FieldReader(r, path, `row ${i}`).string('idx'));
      const row = new Map<string, number>();
      ids.forEach((id, i) => {
        if (row.has(id)) throw new DatasetError(path, `idx "${id}" appears in rows ${row.get(id)} and ${i}`, 'idx');
        row.set(id, i);
      });
      const groups = [0];
      for (const n of rowGroups) groups.push(groups[groups.length - 1] + n);
      return { ids, row, columns, groups };
    })();
  }

  async ids(): Promise<readonly string[]> {
    if (!this.options.file) await expectLayout(this.files, 'BLINK', [this.options.subtask], '<Subtask>/<split>-00000-of-00001.parquet per subtask (the HF BLINK-Benchmark copy), e.g. Art_Style/val-00000-of-00001.parquet');
    return (await this.load()).ids;
  }

  async read(idx: string): Promise<BlinkQuestion> {
    const { row, columns, groups } = await this.load();
    const r = row.get(idx);
    if (r === undefined) throw new Error(`${this.name}: no question with idx "${idx}"`);
    const path = joinPath(this.files.root, this.file);
    const want = ['idx', 'question', 'sub_task', 'choices', 'answer', ...IMAGE_SLOTS.filter((c) => columns.includes(c))];
    for (const c of ['prompt', 'explanation']) if (columns.includes(c)) want.push(c);
    if (!this.block || r < this.block.start || r >= this.block.end) {
      const g = groups.findIndex((start, i) => r >= start && r < groups[i + 1]);
      const [start, end] = [groups[g], groups[g + 1]];
      this.block = { start, end, rows: readParquetRows(this.files, this.file, want, { start, end }) };
    }
    const obj = (await this.block.rows)[r - this.block.start];
    const f = new FieldReader(obj, path, `row ${r}`);
    const choices = f.strings('choices');
    const answer = f.string('answer');
    let answerIndex: number | null = null;
    if (answer !== 'hidden') {
      const m = /^\(([A-Z])\)$/.exec(answer);
      answerIndex = m ? m[1].charCodeAt(0) - 65 : -1;
      if (answerIndex < 0 || answerIndex >= choices.length) {
        f.fail('answer', `"(A)"…"(${String.fromCharCode(64 + choices.length)})" or "hidden"`);
      }
    }
    const images: { slot: number; path: string; image: RgbImage }[] = [];
    IMAGE_SLOTS.forEach((slot, k) => {
      const cell = f.obj[slot];
      if (cell === null || cell === undefined) return;
      const img = new FieldReader(cell, path, `row ${r}.${slot}`);
      const bytes = img.raw('bytes');
      if (!(bytes instanceof Uint8Array)) return img.fail('bytes', 'binary image bytes');
      const name = img.has('path') ? img.string('path') : '';
      images.push({ slot: k + 1, path: name, image: this.codec.decodeImage(bytes, `${path} row ${r} ${slot} (${name})`) });
    });
    if (images.length === 0) throw new DatasetError(path, `row ${r} has no image`, 'image_1');
    return {
      idx, subtask: f.string('sub_task'), question: f.string('question'), choices, answer, answerIndex,
      prompt: f.has('prompt') ? f.string('prompt') : '', explanation: f.has('explanation') ? f.string('explanation') : '',
      images,
    };
  }
}
