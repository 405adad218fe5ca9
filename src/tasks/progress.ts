// Progress of long work (dataset sweeps, loading): a bar with rate and ETA on a terminal (cli-progress), plain
// periodic lines when the output is not a terminal (CI logs), nothing in a browser (the app shows its own).
// cli-progress is a Node module (it extends EventEmitter): loaded only where there is a terminal to draw on
const cliProgress = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined' ? (await import('cli-progress')).default : null;

export interface Progress {
  tick(detail?: string): void;
  stop(): void;
}

function isTty(): boolean {
  const d = (globalThis as { Deno?: { stdout?: { isTerminal?: () => boolean } } }).Deno;
  return !!d?.stdout?.isTerminal?.();
}

/** A progress bar over `total` units of `what`. `startAt` counts units already done (a resumed run). */
export function progressBar(what: string, total: number, startAt = 0, unit = 'samples'): Progress {
  const t0 = performance.now();
  let done = startAt;
  if (cliProgress && isTty()) {
    const bar = new cliProgress.SingleBar({
      format: `${what} [{bar}] {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted} | {detail}`,
      hideCursor: true, clearOnComplete: false, etaBuffer: 20,
    }, cliProgress.Presets.shades_classic);
    bar.start(total, startAt, { rate: '0.00', detail: '' });
    return {
      tick(detail = '') {
        done++;
        bar.update(done, { rate: ((done - startAt) / ((performance.now() - t0) / 1000)).toFixed(2), detail });
      },
      stop() { bar.stop(); },
    };
  }
  let lastPrint = 0;
  return {
    tick(detail = '') {
      done++;
      const now = performance.now();
      if (now - lastPrint < 5000 && done < total) return;
      lastPrint = now;
      const rate = (done - startAt) / ((now - t0) / 1000);
      const eta = rate > 0 ? (total - done) / rate : Infinity;
      console.log(`${what}: ${done}/${total} ${unit}, ${rate.toFixed(2)}/s, ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)} s` : '?'}${detail ? ` | ${detail}` : ''}`);
    },
    stop() {},
  };
}
