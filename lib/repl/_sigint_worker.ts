/**
 * The worker behind {@link installSigint}: it owns the SIGINT listener, so Ctrl-C is
 * seen while the main thread is busy running a script (which never yields to its event
 * loop between lines), and raises the shared flag the runner polls.
 *
 * @module
 */

/** The worker's global scope (type-checked with the main thread's lib, which lacks it). */
interface WorkerScope {
  onmessage: (e: MessageEvent<SharedArrayBuffer>) => void;
  postMessage(message: string): void;
}

const scope = self as unknown as WorkerScope;

scope.onmessage = (e) => {
  const flag = new Int32Array(e.data);
  Deno.addSignalListener("SIGINT", () => {
    Atomics.store(flag, 0, 1);
  });
  scope.postMessage("ready");
};
