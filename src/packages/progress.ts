// A one-line download progress bar (bytes, rate) for terminals, redrawn at most every 100 ms.

/** Something to draw on: a TTY stream. */
interface ProgressTarget {
  write(text: string): unknown;
  columns?: number;
}

/** A progress bar for one download; `update` fits the repository client's onProgress. */
export function createProgressBar(target: ProgressTarget, label: string, now: () => number = Date.now): { update: (bytes: number, total: number | undefined) => void; done: () => void } {
  const started = now();
  let last = 0;
  let drawn = false;
  const draw = (bytes: number, total: number | undefined): void => {
    const seconds = Math.max((now() - started) / 1000, 0.001);
    const rate = `${mib(bytes / seconds)}/s`;
    const width = 24;
    const bar = total ? `[${'#'.repeat(Math.round((bytes / total) * width)).padEnd(width, '.')}] ` : '';
    const size = total ? `${mib(bytes)} / ${mib(total)}` : mib(bytes);
    target.write(`\r${label} ${bar}${size} ${rate}\x1b[K`);
    drawn = true;
  };
  return {
    update(bytes, total) {
      const t = now();
      if (t - last < 100 && bytes !== total) return;
      last = t;
      draw(bytes, total);
    },
    done() {
      if (drawn) target.write('\n');
    },
  };
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
