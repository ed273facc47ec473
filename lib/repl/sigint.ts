/**
 * Ctrl-C for the CLI: a flag raised by SIGINT and polled between script lines (issue 11),
 * so a long script or `source` stops cleanly: back to the prompt, or exit status 130
 * for a script. The listener lives in a worker because the main thread runs a script
 * synchronously and would only see the signal after the script ended.
 *
 * @module
 */

import type { Interrupt } from "./session.ts";

/** Exit status of a script stopped by Ctrl-C (128 + SIGINT, as a shell reports it). */
export const INTERRUPTED_STATUS = 130;

/**
 * Installs the SIGINT listener; resolves (once it listens) to the {@link Interrupt} to
 * give the session. From then on Ctrl-C no longer ends the process: it raises the flag.
 * Without workers or signals (a restricted runtime) it resolves to one that never fires.
 */
export async function installSigint(): Promise<Interrupt> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const it: Interrupt = {
    pending: () => Atomics.load(flag, 0) !== 0,
    clear: () => void Atomics.store(flag, 0, 0),
  };
  try {
    const worker = new Worker(new URL("./_sigint_worker.ts", import.meta.url).href, {
      type: "module",
    });
    await new Promise<void>((resolve) => {
      worker.onmessage = () => resolve();
      worker.onerror = (e) => {
        e.preventDefault();
        resolve();
      };
      worker.postMessage(flag.buffer);
    });
  } catch {
    // No worker: Ctrl-C keeps its default (it ends the process).
  }
  return it;
}
