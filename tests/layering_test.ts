/**
 * The layering rules of DESIGN.md, checked on the imports of every source file: the
 * engine never reaches up into the REPL; lib/dma never imports lib/swiotlb_xen; the REPL
 * reaches the engine only through lib/guest and its views (never the core, the tree or
 * swiotlb-xen); renderers get views, never a live Guest; no engine string holds a REPL
 * verb, flag or hint; no file in lib/ or bench/ is over 500 lines.
 */

import { assert, assertEquals } from "@std/assert";
import { fromFileUrl, join, relative } from "@std/path";

const ROOT = fromFileUrl(new URL("..", import.meta.url));

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(join(ROOT, dir))) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...sources(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out.sort();
}

/** Every module a file imports (static, dynamic and `export … from`), as repo paths. */
function imports(file: string): { path: string; typeOnly: boolean; names: string }[] {
  const text = Deno.readTextFileSync(join(ROOT, file));
  const out: { path: string; typeOnly: boolean; names: string }[] = [];
  const re = /^(import|export)\s+(type\s+)?([^;]*?)\s*from\s+"(\.[^"]+)";/gm;
  for (const m of text.matchAll(re)) {
    const path = relative(ROOT, join(ROOT, file, "..", m[4]));
    out.push({ path, typeOnly: m[2] !== undefined, names: m[3] });
  }
  for (const m of text.matchAll(/import\(\s*"(\.[^"]+)"\s*\)/g)) {
    out.push({ path: relative(ROOT, join(ROOT, file, "..", m[1])), typeOnly: false, names: "" });
  }
  return out;
}

const ENGINE = ["lib/xen", "lib/swiotlb", "lib/dma", "lib/swiotlb_xen", "lib/guest"];
const under = (p: string, dir: string) => p === dir || p.startsWith(dir + "/");

/** Files breaking a rule: `file → import` lines. */
function offenders(files: string[], bad: (imp: string) => boolean): string[] {
  return files.flatMap((f) => imports(f).filter((i) => bad(i.path)).map((i) => `${f} → ${i.path}`));
}

Deno.test("layering: the engine never imports the REPL", () => {
  const files = ENGINE.flatMap(sources);
  assert(files.length > 30, "the engine's files were found");
  assertEquals(offenders(files, (p) => under(p, "lib/repl")), []);
});

Deno.test("layering: lib/dma never imports lib/swiotlb_xen", () => {
  assertEquals(offenders(sources("lib/dma"), (p) => under(p, "lib/swiotlb_xen")), []);
});

Deno.test("layering: the REPL reaches the engine only through lib/guest and its views", () => {
  const bad = (p: string) =>
    under(p, "lib/swiotlb") || under(p, "lib/swiotlb_xen") || p === "lib/rbtree.ts" ||
    under(p, "lib/rbtree") || under(p, "lib/xen");
  assertEquals(offenders(sources("lib/repl"), bad), []);
});

Deno.test("layering: renderers get views, never a live Guest", () => {
  const out: string[] = [];
  for (const f of sources("lib/repl/render")) {
    for (const i of imports(f)) {
      if (!under(i.path, "lib/guest")) continue;
      if (!i.typeOnly || /\bGuest\b/.test(i.names)) out.push(`${f} → ${i.path}: ${i.names}`);
    }
  }
  assertEquals(out, []);
});

/** String literals of a file, comments dropped (good enough for this source style). */
function literals(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const re = /"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g;
  return [...code.matchAll(re)].map((m) => m[0]);
}

Deno.test("layering: no engine string holds a REPL verb, flag or hint", () => {
  const verbs = [
    "device add",
    "buf alloc",
    "guest new",
    "guest presets",
    "map-sg",
    "unmap-sg",
    "tree insert",
    "tree --",
    "lookup bus",
    "set radix",
    "expect ",
  ];
  const out: string[] = [];
  // The engine, and the files at lib/'s top (addr, errors, events, rbtree and its folder…):
  // everything but the REPL.
  const engine = sources("lib").filter((f) => !under(f, "lib/repl"));
  assert(engine.includes("lib/addr.ts") && engine.includes("lib/rbtree/erase.ts"));
  for (const f of engine) {
    for (const s of literals(Deno.readTextFileSync(join(ROOT, f)))) {
      const flag = /\s--[a-z][a-z-]+/.exec(s);
      const verb = verbs.find((v) => new RegExp(`\\b${v.replace(/[-]/g, "\\-")}\\b`).test(s));
      if (flag || verb) out.push(`${f}: ${s.slice(0, 80)}`);
    }
  }
  assertEquals(out, []);
});

Deno.test("layering: no source file in lib/ or bench/ is over 500 lines", () => {
  const long = [...sources("lib"), ...sources("bench")]
    .map((f) => [f, Deno.readTextFileSync(join(ROOT, f)).split("\n").length - 1] as const)
    .filter(([, n]) => n > 500)
    .map(([f, n]) => `${f}: ${n} lines`);
  assertEquals(long, []);
});
