#!/usr/bin/env -S deno run --allow-read --allow-write --allow-env
/**
 * swiotlb-lab's REPL (SPEC §10): `deno task repl` for the prompt,
 * `repl.ts --script FILE` for a command file, `echo … | repl.ts` for piped lines,
 * `--json` for one JSON object per command. See `repl.ts --help`.
 *
 * @module
 */

import { main } from "./lib/repl/cli.ts";

if (import.meta.main) {
  let status: number;
  try {
    status = await main(Deno.args);
  } catch (e) {
    // Lines never get here (runLine turns every error into a reply); this is for the
    // terminal itself failing. Say what, without a stack trace.
    console.error(`swiotlb-lab: internal error: ${e instanceof Error ? e.message : String(e)}`);
    status = 70;
  }
  Deno.exit(status);
}
