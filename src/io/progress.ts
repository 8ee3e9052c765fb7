/**
 * A one-line download progress bar for stderr. Written here rather than taken from a package
 * (cli-progress and friends): we need one bar, one line, redrawn with `\r` — about forty lines —
 * and a library that users embed should not pull a dependency in for that.
 */

export interface ProgressSink {
  /** Bytes received so far for the current file. */
  update(received: number): void;
  /** Ends the line (the file is done or failed). */
  done(): void;
}

export interface ProgressStream {
  write(chunk: string): boolean;
  columns?: number;
}

const REDRAW_MS = 100; // a redraw per chunk would flood the terminal on fast links

export function progressBar(label: string, total: number | undefined, out: ProgressStream): ProgressSink {
  const start = Date.now();
  let last = 0;
  let received = 0;
  const draw = (): void => {
    const secs = Math.max((Date.now() - start) / 1000, 1e-3);
    const rate = `${formatBytes(received / secs)}/s`;
    const width = Math.max(10, Math.min(30, (out.columns ?? 80) - label.length - 45));
    let line: string;
    if (total !== undefined && total > 0) {
      const frac = Math.min(received / total, 1);
      const filled = Math.round(frac * width);
      const bar = "#".repeat(filled) + "-".repeat(width - filled);
      line = `${label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${formatBytes(received)}/${formatBytes(total)} ${rate}`;
    } else {
      line = `${label} ${formatBytes(received)} ${rate}`;
    }
    out.write(`\r${line}\x1b[K`); // \x1b[K clears what a longer previous line left behind
  };
  return {
    update(n: number): void {
      received = n;
      const now = Date.now();
      if (now - last >= REDRAW_MS) {
        last = now;
        draw();
      }
    },
    done(): void {
      draw();
      out.write("\n");
    },
  };
}

export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
