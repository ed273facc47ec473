import { main } from "/work/main/lib/repl/cli.ts";
const t = performance.now();
const st = await main(["--json", "--script", Deno.args[0]]);
(globalThis as unknown as {gc?: () => void}).gc?.();
const m = Deno.memoryUsage();
console.error(JSON.stringify({ st, ms: performance.now() - t, rss: m.rss / 1e6, heapTotal: m.heapTotal / 1e6, heapUsed: m.heapUsed / 1e6, external: m.external / 1e6 }));
Deno.exit(0);
