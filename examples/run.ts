/**
 * Runs one example by name: `deno task example first-bounce` runs the command script
 * examples/first-bounce.txt through the REPL's script runner; `deno task example
 * first_bounce` runs the TypeScript example examples/first_bounce.ts. Without a name it
 * lists the examples.
 *
 * @module
 */

import { main } from "../lib/repl/cli.ts";

const dir = new URL("./", import.meta.url);

function examples(): string[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    if (e.isFile && (e.name.endsWith(".txt") || (e.name.endsWith(".ts") && e.name !== "run.ts"))) {
      names.push(e.name);
    }
  }
  return names.sort();
}

function exists(url: URL): boolean {
  try {
    return Deno.statSync(url).isFile;
  } catch {
    return false;
  }
}

if (import.meta.main) {
  const [name, ...rest] = Deno.args;
  if (name === undefined) {
    console.log("usage: deno task example NAME [--json]   (NAME without .txt / .ts)\n");
    for (const e of examples()) console.log(`  ${e.replace(/\.(txt|ts)$/, "")}  (${e})`);
    Deno.exit(0);
  }
  const base = name.replace(/^examples\//, "").replace(/\.(txt|ts)$/, "");
  const txt = new URL(`${base}.txt`, dir);
  const ts = new URL(`${base}.ts`, dir);
  if (exists(txt)) {
    Deno.exit(await main(["--script", txt.pathname, ...rest]));
  } else if (exists(ts)) {
    await import(ts.href);
  } else {
    console.error(`No example "${name}": try one of ${examples().join(", ")}`);
    Deno.exit(2);
  }
}
