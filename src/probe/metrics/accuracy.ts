// BLINK multiple-choice accuracy, as the official `eval/evaluate.py` computes it (protocols.md §1.7):
//   a question is right iff its prediction string equals the gold answer exactly ("(A)" …); missing = wrong
//   subtask accuracy = right / questions of the subtask (subtask parsed from the idx, e.g. "val_Art_Style_12")
//   overall = unweighted mean of the subtask accuracies (task-macro), not the micro accuracy
// and the answer extraction of `eval/test_benchmark.py` (`analyze_answer`) that turns a free-text reply into "(X)":
//   reply exactly "A" … "E"                → "(A)" … "(E)"
//   reply exactly "(A)" … "(E)"            → itself
//   whitespace tokens ∩ {"(A)" … up to the number of choices}: if exactly one in the whole reply, or exactly one in
//   its last paragraph (text after the last blank line) while the whole reply has at least one → that one
//   (the last paragraph wins when it has exactly one)
//   otherwise                               → the official code asks GPT-3.5 to match the reply to the option texts;
//   kvscope replaces that with a deterministic matcher (below) or a caller-supplied one; "(Z)" = failed.
// Values are fractions in [0, 1].

/** Letters of the choices, as BLINK writes them. */
export const CHOICE_LETTERS = ['(A)', '(B)', '(C)', '(D)', '(E)'] as const;

/** "(A)" for choice index 0, "(B)" for 1, … */
export function choiceLetter(index: number): string {
  const l = CHOICE_LETTERS[index];
  if (l === undefined) throw new Error(`BLINK: choice index ${index} has no letter (BLINK has at most ${CHOICE_LETTERS.length} choices)`);
  return l;
}

/** The failed-match answer of BLINK's matcher. */
export const NO_CHOICE = '(Z)';

/** A fallback matcher: reply and option texts → "(A)" … or NO_CHOICE. */
export type ChoiceMatcher = (reply: string, choices: readonly string[]) => string;

/**
 * Deterministic stand-in for BLINK's GPT-3.5 option matcher: the choice whose text occurs in the reply
 * (case-insensitive, whole words); if several occur, the one whose last occurrence is latest (answers usually end
 * with the conclusion); none → "(Z)". Texts contained in another option's text only count where the longer one
 * does not cover them ("second image" inside "the second image" is one mention).
 */
export const optionTextMatcher: ChoiceMatcher = (reply, choices) => {
  const text = reply.toLowerCase();
  const spans: { choice: number; start: number; end: number }[] = [];
  choices.forEach((c, choice) => {
    const needle = c.trim().toLowerCase();
    if (!needle) return;
    for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
      const before = at === 0 ? '' : text[at - 1], after = text[at + needle.length] ?? '';
      if (/\w/.test(before) || /\w/.test(after)) continue;
      spans.push({ choice, start: at, end: at + needle.length });
    }
  });
  // drop mentions lying inside a longer mention of another choice
  const kept = spans.filter((s) => !spans.some((o) => o !== s && o.choice !== s.choice && o.start <= s.start && o.end >= s.end && o.end - o.start > s.end - s.start));
  if (kept.length === 0) return NO_CHOICE;
  const last = new Map<number, number>();
  for (const s of kept) last.set(s.choice, Math.max(last.get(s.choice) ?? -1, s.start));
  let best = -1, bestAt = -1;
  for (const [c, at] of last) if (at > bestAt) { best = c; bestAt = at; }
  return choiceLetter(best);
};

/** `analyze_answer`: the "(X)" a free-text reply selects among `choices` (the option texts). */
export function extractChoice(reply: string, choices: readonly string[], matcher: ChoiceMatcher = optionTextMatcher): string {
  const allChoices = CHOICE_LETTERS.slice(0, choices.length) as readonly string[];
  if (['A', 'B', 'C', 'D', 'E'].includes(reply)) return `(${reply})`;
  if ((CHOICE_LETTERS as readonly string[]).includes(reply)) return reply;
  // Python str.split(): runs of whitespace, no empty tokens
  const tokens = (s: string) => new Set(s.split(/\s+/).filter((t) => t.length > 0));
  const intersect = (s: string) => allChoices.filter((c) => tokens(s).has(c));
  const all = intersect(reply);
  const paragraphs = reply.split('\n\n');
  const last = intersect(paragraphs[paragraphs.length - 1]);
  if ((all.length !== 1 && last.length !== 1) || all.length < 1) return matcher(reply, choices);
  return last.length === 1 ? last[0] : all[0];
}

/** Subtask of a BLINK idx: "val_Art_Style_12" → "Art_Style" (evaluate.py's parse). */
export function blinkSubtask(idx: string, split: string): string {
  const parts = idx.split(split);
  if (parts.length < 2) throw new Error(`BLINK: question id '${idx}' does not contain the split name '${split}'`);
  const rest = parts[1].slice(1).split('_');
  const task = rest.slice(0, -1).join('_');
  if (!task) throw new Error(`BLINK: question id '${idx}' has no subtask between '${split}_' and its number`);
  return task;
}

export interface BlinkAccuracy {
  /** task-macro mean of the subtask accuracies (the official "Total"). */
  overall: number;
  /** right / all questions. */
  micro: number;
  perSubtask: Map<string, { accuracy: number; right: number; questions: number }>;
  /** idx of the questions answered wrong or not at all. */
  errors: string[];
}

/**
 * Score predictions (idx → "(X)") against gold answers (idx → "(X)"), as evaluate.py's `eval_prediction`.
 * `subtasks` fixes the averaging set (official: the 14 BLINK subtasks); default = the subtasks in `gold`.
 */
export function blinkAccuracy(gold: ReadonlyMap<string, string> | Record<string, string>, predictions: ReadonlyMap<string, string> | Record<string, string>, split = 'val', subtasks?: readonly string[]): BlinkAccuracy {
  const goldEntries = gold instanceof Map ? [...gold.entries()] : Object.entries(gold);
  const pred = predictions instanceof Map ? predictions : new Map(Object.entries(predictions));
  if (goldEntries.length === 0) throw new Error('BLINK: no gold answers');
  const per = new Map<string, { accuracy: number; right: number; questions: number }>();
  for (const t of subtasks ?? []) per.set(t, { accuracy: 0, right: 0, questions: 0 });
  const errors: string[] = [];
  let right = 0;
  for (const [idx, answer] of goldEntries) {
    const task = blinkSubtask(idx, split);
    let s = per.get(task);
    if (!s) {
      if (subtasks) throw new Error(`BLINK: question '${idx}' belongs to subtask '${task}', which is not among the ${subtasks.length} subtasks given`);
      s = { accuracy: 0, right: 0, questions: 0 };
      per.set(task, s);
    }
    s.questions++;
    if (pred.get(idx) === answer) { s.right++; right++; } else errors.push(idx);
  }
  let sum = 0;
  for (const [t, s] of per) {
    if (s.questions === 0) throw new Error(`BLINK: subtask '${t}' has no gold answers; its accuracy is undefined`);
    s.accuracy = s.right / s.questions;
    sum += s.accuracy;
  }
  return { overall: sum / per.size, micro: right / goldEntries.length, perSubtask: per, errors };
}

export interface SurfacingGap {
  /** per subtask: share of questions where the probe is right and the model's answer wrong (VRLM's surfacing gap). */
  perSubtask: Map<string, { probeRightModelWrong: number; questions: number }>;
}

/** The paper's surfacing gap: questions the KV-feature probe answers right while the model's generated answer is wrong. */
export function surfacingGap(gold: ReadonlyMap<string, string>, model: ReadonlyMap<string, string>, probe: ReadonlyMap<string, string>, split = 'val'): SurfacingGap {
  const per = new Map<string, { probeRightModelWrong: number; questions: number }>();
  const counts = new Map<string, { hit: number; n: number }>();
  for (const [idx, answer] of gold) {
    const t = blinkSubtask(idx, split);
    const c = counts.get(t) ?? { hit: 0, n: 0 };
    c.n++;
    if (probe.get(idx) === answer && model.get(idx) !== answer) c.hit++;
    counts.set(t, c);
  }
  for (const [t, c] of counts) per.set(t, { probeRightModelWrong: c.hit / c.n, questions: c.n });
  return { perSubtask: per };
}
