/**
 * The "empty script" of the REPL cold-start measurement in `bench/report.ts`: Deno's own
 * start-up cost, with the same deno.json and lockfile as `repl.ts`, so that what the
 * report subtracts is Deno's and what remains is ours.
 *
 * @module
 */

console.log("ready");
