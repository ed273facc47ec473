/**
 * The worker behind {@link installSigint}: it owns the SIGINT listener, so Ctrl-C is
 * seen while the main thread is busy running a script (which never yields to its event
 * loop between lines), and raises the shared flag the runner polls.
 *
 * @module
 */

self.onmessage = (e: MessageEvent<SharedArrayBuffer>) => {
  const flag = new Int32Array(e.data);
  Deno.addSignalListener("SIGINT", () => {
    Atomics.store(flag, 0, 1);
  });
  self.postMessage("ready");
};
