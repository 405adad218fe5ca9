// One process per run directory: a lock file `.lock` holding the owner's pid, host and start time, created with
// O_EXCL so two processes cannot both take it. A lock whose pid no longer runs on this host is stale (the owner
// was killed) and is taken over; a live one is refused with the owner named.

export class RunLockedError extends Error {
  constructor(readonly dir: string, readonly owner: LockOwner) {
    super(`${dir}: another kvscope process (pid ${owner.pid} on ${owner.host}, started ${owner.started}) is writing this run; wait for it, use another --out, or delete ${dir}/.lock if that process is gone`);
    this.name = 'RunLockedError';
  }
}

export interface LockOwner {
  pid: number;
  host: string;
  started: string;
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return 'unknown-host';
  }
}

/** Whether `pid` runs on this machine: /proc/<pid> on Linux; elsewhere unknown, so taken as running. */
async function pidRuns(pid: number): Promise<boolean> {
  if (pid === Deno.pid) return true;
  try {
    await Deno.stat('/proc/self');
  } catch {
    return true;
  }
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // a zombie (state Z) has exited: its lock is stale
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

export class RunLock {
  private constructor(readonly file: string, readonly owner: LockOwner) {}

  /** Take `dir/.lock`, taking over a stale one; RunLockedError when a live process holds it. */
  static async acquire(dir: string): Promise<RunLock> {
    const file = `${dir}/.lock`;
    const owner: LockOwner = { pid: Deno.pid, host: hostname(), started: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const f = await Deno.open(file, { write: true, createNew: true });
        try {
          await f.write(new TextEncoder().encode(JSON.stringify(owner) + '\n'));
          await f.syncData();
        } finally {
          f.close();
        }
        return new RunLock(file, owner);
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      }
      let held: LockOwner | null = null;
      try {
        const parsed = JSON.parse(await Deno.readTextFile(file));
        if (Number.isInteger(parsed?.pid)) held = parsed as LockOwner;
      } catch {
        // unreadable or half-written lock: the owner died while creating it (it writes one short line)
      }
      if (held && held.host === owner.host && await pidRuns(held.pid)) throw new RunLockedError(dir, held);
      if (held && held.host !== owner.host) throw new RunLockedError(dir, held);
      // stale: remove and try again (another process may win the race; then it is live and we refuse)
      await Deno.remove(file).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
    throw new Error(`${file}: could not take the run lock after 3 attempts (other processes keep taking it)`);
  }

  async release(): Promise<void> {
    try {
      const now = JSON.parse(await Deno.readTextFile(this.file));
      if (now?.pid !== this.owner.pid || now?.started !== this.owner.started) return; // taken over: not ours
      await Deno.remove(this.file);
    } catch {
      // already gone
    }
  }
}
