/** An in-memory file system for REPL tests: scripts, guest files and outputs touch no disk. */

import type { FileAccess } from "../lib/repl/mod.ts";

/** In-memory files (paths are absolute); `files` shows what was written. */
export function memFiles(
  init: Record<string, string> = {},
): FileAccess & { files: Map<string, string> } {
  const files = new Map(Object.entries(init));
  const get = (p: string) => {
    const t = files.get(p);
    if (t === undefined) throw new Deno.errors.NotFound(`No such file: ${p}`);
    return t;
  };
  return {
    files,
    readText: get,
    writeText: (p, t) => void files.set(p, t),
    appendText: (p, t) => void files.set(p, (files.get(p) ?? "") + t),
    exists: (p) => files.has(p),
    stat: (p) => ({ kind: "file", size: new TextEncoder().encode(get(p)).length }),
  };
}
