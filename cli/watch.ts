import type { SynchronizationJob } from '../functions/schemas/graph.ts';
import { renderFrame, type Observation } from './progress.ts';

export interface WatchOptions {
  getJob: () => Promise<SynchronizationJob>;
  /** Receives the text as it is written (a TTY line is rewritten in place with \r). */
  write: (text: string) => void;
  /** Rewrite one line in place; otherwise print a line each time it changes. */
  tty: boolean;
  /** The terminal's width: a longer line would wrap and break the in-place rewrite. */
  columns?: number;
  everyMs: number;
  /** Exit 0 at steady state, 1 at quarantine; otherwise watch until interrupted. */
  untilSteady: boolean;
  now: () => number;
  /** Resolves after `ms`, or early once `signal` aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
}

/** Exit code 130 when interrupted, as a shell reports Ctrl-C. */
export const INTERRUPTED = 130;

export async function watchJob(options: WatchOptions): Promise<number> {
  let observation: Observation | null = null;
  let shown: string | null = null;
  const show = (line: string) => {
    if (options.tty) {
      const width = options.columns && options.columns > 1 ? options.columns - 1 : Infinity;
      options.write(`\r${line.length > width ? `${line.slice(0, width - 1)}…` : line}\x1b[K`);
    } else if (line !== shown) {
      options.write(`${line}\n`);
    }
    shown = line;
  };
  // The in-place line is ended before the exit, or before the error line on stderr.
  const end = (code: number) => {
    if (options.tty && shown !== null) options.write('\n');
    return code;
  };
  try {
    while (!options.signal?.aborted) {
      const job = await options.getJob();
      const frame = renderFrame(observation, job, options.tty ? options.now() : null);
      observation = frame.observation;
      show(frame.line);
      if (options.untilSteady && frame.phase === 'steady') return end(0);
      if (options.untilSteady && frame.phase === 'quarantine') return end(1);
      await options.sleep(options.everyMs, options.signal);
    }
    return end(INTERRUPTED);
  } catch (error) {
    end(1);
    throw error;
  }
}
