/**
 * Where the report lives on disk: the entry point children are spawned from, the
 * repository (the children's and cold starts' working directory), the default output
 * file, and the commit checked out there (recorded in the report's meta).
 *
 * @module
 */

import { dirname, fromFileUrl, join, resolve } from "@std/path";

/** The entry point a child runs: `main.ts --child KIND ARGS` dispatches to CHILDREN. */
export const SELF = fromFileUrl(new URL("./main.ts", import.meta.url));
/** The repository root: children run there, so deno.json and `repl.ts` resolve as in a task. */
export const REPO = resolve(dirname(SELF), "..", "..");
/** Ignored by git (only baseline.json is kept), so a run leaves the tree clean. */
export const DEFAULT_OUT = join(REPO, "bench", "results", "latest.json");

/**
 * The checked-out commit, read from .git's files; null when they cannot be read (no
 * clone, or a worktree, whose .git is a file), so the report still runs without it.
 */
export function readCommit(): string | null {
  try {
    const head = Deno.readTextFileSync(join(REPO, ".git", "HEAD")).trim();
    if (!head.startsWith("ref: ")) return head;
    const ref = head.slice(5);
    try {
      return Deno.readTextFileSync(join(REPO, ".git", ref)).trim();
    } catch {
      const packed = Deno.readTextFileSync(join(REPO, ".git", "packed-refs"));
      const hit = packed.split("\n").find((l) => l.endsWith(" " + ref));
      return hit ? hit.split(" ")[0] : null;
    }
  } catch {
    return null;
  }
}
