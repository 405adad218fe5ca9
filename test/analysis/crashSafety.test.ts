// Crash-safe sweeps: a probe run killed with SIGKILL at random moments and restarted on the same --out ends with
// results.jsonl byte-identical to an uninterrupted run; a torn last line is cut and recomputed; a second process on
// the same --out gets RunLockedError naming the owner; a stale lock (dead pid) is taken over; a read-only or full
// --out gives RunDirError and keeps what was written. The child is test/analysis/sweepChild.ts (CPU only).
import { ResultsLog, RunDirError } from '../../src/tasks/resultsLog.ts';
import { RunLockedError } from '../../src/tasks/runLock.ts';
import { assert, assertEquals, assertRejects } from '../gpu/assert.ts';

const CHILD = new URL('./sweepChild.ts', import.meta.url).pathname;
const DENO = Deno.execPath();
const SAMPLES = 24;
/** Kills in CI; KVSCOPE_CRASH_KILLS=200 for a longer run. */
const KILLS = Number(Deno.env.get('KVSCOPE_CRASH_KILLS') ?? 24);

function child(out: string, permissions: string[] = ['-A']): Deno.ChildProcess {
  return new Deno.Command(DENO, { args: ['run', ...permissions, '--no-check', CHILD, out, String(SAMPLES)], stdout: 'piped', stderr: 'piped', env: { NO_COLOR: '1' } }).spawn();
}

async function runToEnd(out: string, permissions?: string[]): Promise<{ code: number; stderr: string }> {
  const r = await child(out, permissions).output();
  return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
}

const read = (f: string) => Deno.readTextFile(f).catch(() => null);

/** What a kill left behind must still be readable: whole sample lines parse, results.jsonl is whole or absent. */
async function checkLeftovers(dir: string): Promise<{ lines: number; torn: boolean; results: boolean }> {
  const samples = (await read(`${dir}/samples.jsonl`)) ?? '';
  const whole = samples.slice(0, samples.lastIndexOf('\n') + 1).split('\n').filter(Boolean);
  for (const l of whole) JSON.parse(l);
  const results = await read(`${dir}/results.jsonl`);
  if (results !== null) for (const l of results.split('\n').filter(Boolean)) JSON.parse(l);
  return { lines: whole.length, torn: samples.length > 0 && !samples.endsWith('\n'), results: results !== null };
}

Deno.test({
  name: 'SIGKILL at random moments (≥ 20 kills) and restart: results.jsonl identical to an uninterrupted run',
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: 'kvscope-crash-' });
    try {
      const t0 = performance.now();
      assertEquals((await runToEnd(`${root}/ref`)).code, 0, 'reference run exit code');
      const refMs = performance.now() - t0;
      const want = await Deno.readTextFile(`${root}/ref/results.jsonl`);
      const wantSamples = await Deno.readTextFile(`${root}/ref/samples.jsonl`);
      let seed = 12345;
      const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
      let kills = 0, trials = 0;
      const phases = { beforeFirstSample: 0, midSweep: 0, afterAllSamples: 0, tornSeen: 0 };
      while (kills < KILLS) {
        const dir = `${root}/t${trials++}`;
        // up to 4 kills per trial, then a run to the end
        for (let k = 0; k < 4; k++) {
          const p = child(dir);
          const delay = 40 + rand() * refMs * 1.2;
          await new Promise((r) => setTimeout(r, delay));
          let killed = true;
          try {
            p.kill('SIGKILL');
          } catch {
            killed = false; // it had finished
          }
          const st = await p.output();
          if (!killed || st.code === 0) break;
          kills++;
          const left = await checkLeftovers(dir);
          if (left.torn) phases.tornSeen++;
          if (left.lines === 0) phases.beforeFirstSample++;
          else if (left.lines < SAMPLES) phases.midSweep++;
          else phases.afterAllSamples++;
        }
        const end = await runToEnd(dir);
        assertEquals(end.code, 0, `restart in ${dir} exit code (${end.stderr.slice(-400)})`);
        assertEquals(await Deno.readTextFile(`${dir}/results.jsonl`), want, `${dir}/results.jsonl after kills`);
        assertEquals(await Deno.readTextFile(`${dir}/samples.jsonl`), wantSamples, `${dir}/samples.jsonl after kills`);
        assertEquals(await read(`${dir}/.lock`), null, 'lock released at the end');
      }
      console.log(`crash test: ${kills} SIGKILLs over ${trials} runs, 0 rows lost or changed; kill landed ${JSON.stringify(phases)}; uninterrupted run ${refMs.toFixed(0)} ms, whole test ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      assert(kills >= 20 && kills >= KILLS, 'at least 20 kills');
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test('a torn last line is cut off and its sample recomputed', async () => {
  const dir = await Deno.makeTempDir({ prefix: 'kvscope-torn-' });
  try {
    assertEquals((await runToEnd(`${dir}/ref`)).code, 0, 'reference');
    const want = await Deno.readTextFile(`${dir}/ref/results.jsonl`);
    const lines = (await Deno.readTextFile(`${dir}/ref/samples.jsonl`)).split('\n').filter(Boolean);
    await Deno.mkdir(`${dir}/run`);
    await Deno.copyFile(`${dir}/ref/run.json`, `${dir}/run/run.json`);
    // 10 whole lines, then the 11th cut in its middle as a kill during write() leaves it
    await Deno.writeTextFile(`${dir}/run/samples.jsonl`, lines.slice(0, 10).join('\n') + '\n' + lines[10].slice(0, 37));
    const settings = JSON.parse(await Deno.readTextFile(`${dir}/ref/run.json`));
    const log = await ResultsLog.open(`${dir}/run`, settings);
    assertEquals(log.tornBytes, 37, 'torn bytes detected');
    assertEquals(log.done.size, 10, 'whole lines kept');
    assert(!log.has(JSON.parse(lines[10]).sample), 'torn sample not counted');
    await log.close();
    assertEquals((await Deno.readTextFile(`${dir}/run/samples.jsonl`)).length, lines.slice(0, 10).join('\n').length + 1, 'file cut to its whole lines');
    assertEquals((await runToEnd(`${dir}/run`)).code, 0, 'resume');
    assertEquals(await Deno.readTextFile(`${dir}/run/results.jsonl`), want, 'results after the torn line');
    // a corrupt line that is whole (not the torn tail) is an error naming the line
    await Deno.writeTextFile(`${dir}/run/samples.jsonl`, lines[0] + '\n{"sample": oops\n' + lines[1] + '\n');
    await assertRejects(() => ResultsLog.open(`${dir}/run`, settings), /samples\.jsonl line 2: not JSON/, 'corrupt whole line');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test('two processes on one --out: the second gets RunLockedError naming the first; a stale lock is taken over', async () => {
  const dir = await Deno.makeTempDir({ prefix: 'kvscope-lock-' });
  try {
    const a = await ResultsLog.open(dir, { task: 'x' });
    const e = await assertRejects(() => ResultsLog.open(dir, { task: 'x' }), /another kvscope process \(pid \d+/, 'second open in this process');
    assert(e instanceof RunLockedError && e.owner.pid === Deno.pid, 'names this pid');
    // a child process on the same --out while this one holds it
    const r = await runToEnd(dir);
    assert(r.code !== 0 && new RegExp(`RunLockedError.*pid ${Deno.pid}`).test(r.stderr), `child refused with the owner's pid: ${r.stderr.slice(-300)}`);
    await a.close();
    // stale: a lock left by a process that no longer exists
    const dead = new Deno.Command(DENO, { args: ['eval', 'console.log(Deno.pid)'], stdout: 'piped' }).outputSync();
    const deadPid = Number(new TextDecoder().decode(dead.stdout).trim());
    await Deno.writeTextFile(`${dir}/.lock`, JSON.stringify({ pid: deadPid, host: Deno.hostname(), started: 'earlier' }));
    const b = await ResultsLog.open(dir, { task: 'x' });
    assertEquals(JSON.parse(await Deno.readTextFile(`${dir}/.lock`)).pid, Deno.pid, 'stale lock taken over');
    await b.close();
    // a half-written lock (the owner died creating it) is stale too
    await Deno.writeTextFile(`${dir}/.lock`, '{"pid": 12');
    await (await ResultsLog.open(dir, { task: 'x' })).close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test('read-only --out: a clear RunDirError, nothing written over what is there', async () => {
  const dir = await Deno.makeTempDir({ prefix: 'kvscope-ro-' });
  try {
    assertEquals((await runToEnd(`${dir}/run`)).code, 0, 'first run');
    const before = await Deno.readTextFile(`${dir}/run/samples.jsonl`);
    await Deno.remove(`${dir}/run/results.jsonl`);
    // the process may read but not write anywhere: a read-only file system as the process sees it
    const r = await runToEnd(`${dir}/run`, ['--allow-read', '--allow-env', '--allow-sys']);
    assert(r.code !== 0 && /RunDirError: .*run: cannot write to the output directory .*no permission to write there/.test(r.stderr), `error names the dir and the cause: ${r.stderr.slice(-400)}`);
    assertEquals(await Deno.readTextFile(`${dir}/run/samples.jsonl`), before, 'samples kept');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test('full disk while appending: RunDirError saying so and how many samples are kept', async () => {
  const dir = await Deno.makeTempDir({ prefix: 'kvscope-full-' });
  try {
    const log = await ResultsLog.open(dir, { task: 'x' });
    await log.addSample('a', { k: { n: 1 } });
    await log.close();
    const again = await ResultsLog.open(dir, { task: 'x' });
    // every write to /dev/full fails with ENOSPC, as on a full disk
    await Deno.rename(`${dir}/samples.jsonl`, `${dir}/kept.jsonl`);
    await Deno.symlink('/dev/full', `${dir}/samples.jsonl`);
    await assertRejects(() => again.addSample('b', { k: { n: 2 } }), /samples\.jsonl: cannot append sample b: .*\(the disk is full\); the 1 sample\(s\) written before are kept/, 'ENOSPC');
    await again.close();
    assertEquals((await Deno.readTextFile(`${dir}/kept.jsonl`)).split('\n').filter(Boolean).length, 1, 'earlier sample kept');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test('RunDirError is typed', () => {
  assert(new RunDirError('d', 'x') instanceof Error && new RunDirError('d', 'x').name === 'RunDirError', 'name');
});
