/**
 * The child kinds `main.ts --child KIND ARGS` dispatches to: one measurement each, run
 * in a fresh process so that nothing already allocated or compiled colours its numbers.
 *
 * @module
 */

import { childCore } from "./core.ts";
import { childCoreWorkload } from "./workload.ts";
import { childCoreInit, childGuestInit, childPresetInit } from "./init.ts";
import { childLatency } from "./latency.ts";
import { childLookupGuest, childLookupSynthetic } from "./lookup.ts";
import { childThroughput } from "./throughput.ts";

/** Kind → measurement. `never` lets each take its own argument type (JSON from the parent). */
export const CHILDREN: Record<string, (args: never) => unknown> = {
  latency: childLatency,
  core: childCore,
  "core-workload": childCoreWorkload,
  "lookup-guest": childLookupGuest,
  "lookup-synthetic": childLookupSynthetic,
  "core-init": childCoreInit,
  "guest-init": childGuestInit,
  "preset-init": childPresetInit,
  throughput: childThroughput,
};
