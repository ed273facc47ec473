/**
 * Scripts are streamed (issue 14): the lines of a file or of piped stdin are read as they
 * run, a chunk at a time, and must be exactly the lines of the whole text split at
 * `\r?\n` — whatever the chunk size, with UTF-8 split across chunks — keeping FILE:LINE,
 * the `expect error` look-ahead, the refusals before a line runs, stdin's limit, and
 * answers flushed before stdin is read again.
 */

import { assertEquals, assertStringIncludes } from "@std/assert";
import fc from "fast-check";
import { fromFileUrl } from "@std/path";
import { runLine, Session } from "../lib/repl/mod.ts";
import { ChunkLines, type LineSource, TextLines } from "../lib/repl/lines.ts";
import { runScriptFile, runScriptText } from "../lib/repl/script.ts";
import { denoFiles, openScript } from "../lib/repl/files.ts";

const root = fromFileUrl(new URL("../", import.meta.url));

function all(src: LineSource): string[] {
  const out: string[] = [];
  for (let l = src.next(); l !== undefined; l = src.next()) out.push(l);
  return out;
}

/** A reader over `bytes` that hands out at most `step` bytes a call. */
function reader(bytes: Uint8Array, step: number) {
  let at = 0;
  return (buf: Uint8Array) => {
    if (at >= bytes.length) return null;
    const n = Math.min(buf.length, step, bytes.length - at);
    buf.set(bytes.subarray(at, at + n));
    at += n;
    return n;
  };
}

const text = fc.array(
  fc.constantFrom("map nic rx 4K to", "\n", "\r\n", "\r", "é", "😀", "# c", " ", "\ufeff", ""),
  { maxLength: 30 },
).map((p) => p.join(""));

Deno.test("TextLines and ChunkLines give the lines of split(/\\r?\\n/), in any chunk size", () => {
  fc.assert(
    fc.property(
      text,
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 7 }),
      (t, chunk, step) => {
        const want = t.split(/\r?\n/);
        assertEquals(all(new TextLines(t)), want);
        const bytes = new TextEncoder().encode(t);
        const lines = new ChunkLines(reader(bytes, step), {
          limit: bytes.length,
          keepBOM: true,
          chunkBytes: chunk,
        });
        assertEquals(all(lines), want);
        assertEquals(lines.bytes, bytes.length);
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("ChunkLines: a BOM is dropped unless kept; past the limit it complains or stops", () => {
  const bytes = new TextEncoder().encode("\ufeffa\nbcd\nef");
  assertEquals(all(new ChunkLines(reader(bytes, 3), { limit: 100 })), ["a", "bcd", "ef"]);
  assertEquals(all(new ChunkLines(reader(bytes, 3), { limit: 100, keepBOM: true }))[0], "\ufeffa");
  // The limit counts bytes (the BOM is 3): no more is read than one past it.
  assertEquals(all(new ChunkLines(reader(bytes, 3), { limit: 8, keepBOM: true })), [
    "\ufeffa",
    "bcd",
  ]);
  const over = new ChunkLines(reader(bytes, 64), {
    limit: 8,
    over: () => {
      throw new Error("too big");
    },
  });
  let error = "";
  try {
    all(over);
  } catch (e) {
    error = (e as Error).message;
  }
  assertEquals(error, "too big");
});

function withDir(files: Record<string, string | Uint8Array>, f: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "swiotlb_stream_" });
  try {
    for (const [name, body] of Object.entries(files)) {
      if (typeof body === "string") Deno.writeTextFileSync(`${dir}/${name}`, body);
      else Deno.writeFileSync(`${dir}/${name}`, body);
    }
    f(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("a streamed file runs as its text does: FILE:LINE, expect error past comments, CRLF", () => {
  // The failure's expect error comes after blank and comment lines, a chunk or more later.
  const script = [
    "guest new --preset arm-dom0 --swiotlb 1M",
    "device add nic --mask 32",
    "map nic ghost 4K to",
    ...Array.from({ length: 20_000 }, (_, i) => i % 2 ? "" : `# comment ${i}`),
    'expect error "ghost"',
    "buf alloc rx 4K",
    "map nic rx 4K to",
    "mpa nic rx 4K to",
  ].join("\r\n");
  withDir({ "s.txt": script }, (dir) => {
    const opts = { keepGoing: true, runLine };
    const file = runScriptFile(new Session({ cwd: dir, json: true }), "s.txt", opts);
    const text = runScriptText(new Session({ cwd: dir, json: true }), script, "s.txt", opts);
    assertEquals(file, text);
    assertEquals([file.errors, file.commands, file.firstError], [1, 7, "s.txt:20007"]);
  });
});

Deno.test("a streamed file holding a NUL byte is refused before any line runs", () => {
  const body = new TextEncoder().encode("set radix 10\n".repeat(200_000) + "\0\n");
  withDir({ "bin.txt": body }, (dir) => {
    const s = new Session({ cwd: dir });
    const r = runLine(s, "source bin.txt");
    assertEquals(
      r.error,
      "Cannot read script bin.txt: it holds NUL bytes, so it is not a text file",
    );
    assertEquals(s.fmt.radix, 16, "no line ran");
  });
});

/** repl.ts with piped stdin, fed by `feed`; status and output. */
async function piped(
  feed: (w: WritableStreamDefaultWriter<Uint8Array>, out: () => Promise<string>) => Promise<void>,
) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "repl.ts", "--json"],
    cwd: root,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = child.stdout.getReader();
  let seen = "";
  const nextLine = async () => {
    while (!seen.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    const i = seen.indexOf("\n");
    const line = seen.slice(0, i);
    seen = seen.slice(i + 1);
    return line;
  };
  // A broken flush would leave the answer unwritten and this test waiting: end it.
  const guard = setTimeout(() => child.kill(), 60_000);
  try {
    const w = child.stdin.getWriter();
    try {
      await feed(w, nextLine);
      await w.close();
    } catch {
      // The REPL stopped reading (stdin past its limit): what it wrote is still checked.
    }
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    const status = await child.status;
    const err = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
    return { code: status.code, rest: seen, err };
  } finally {
    clearTimeout(guard);
  }
}

Deno.test("piped stdin: each answer is written before the next line is read", async () => {
  const enc = new TextEncoder();
  const answers: string[] = [];
  const r = await piped(async (w, nextLine) => {
    // Each line is sent only once the answer to the one before has arrived.
    await w.write(enc.encode("guest new --preset arm-dom0 --swiotlb 1M\n"));
    answers.push(await nextLine());
    await w.write(enc.encode("device add nic --mask 32\n"));
    answers.push(await nextLine());
    await w.write(enc.encode("set radix 10\n"));
    answers.push(await nextLine());
  });
  assertEquals(r.code, 0, r.err);
  assertEquals(JSON.parse(answers[0]).swiotlb_xen, true);
  assertEquals(JSON.parse(answers[1]).device, "nic");
  assertEquals(JSON.parse(answers[2]).radix, 10);
  assertEquals(r.rest, "");
});

Deno.test("piped stdin past 64 MiB: the lines before it ran, then status 2", async () => {
  const enc = new TextEncoder();
  const r = await piped(async (w) => {
    await w.write(enc.encode("set radix 10\n"));
    const block = enc.encode("#".repeat(1 << 20) + "\n");
    for (let i = 0; i < 65; i++) await w.write(block);
  });
  assertEquals(r.code, 2);
  assertEquals(JSON.parse(r.rest.split("\n")[0]).radix, 10);
  assertStringIncludes(r.err, "Cannot read script <stdin>: it is over 64 MiB");
});

Deno.test("openScript finds the words it is asked for, across the chunks of its first pass", () => {
  const chunk = 1 << 20;
  for (const at of [0, 100, chunk - 3, chunk - 6, chunk, 2 * chunk - 1]) {
    const pad = "#".repeat(at);
    const text = `${pad}report x.html\n${"#".repeat(chunk)}\nset radix 10\n`;
    withDir({ "s.txt": text }, (dir) => {
      const src = openScript(denoFiles, `${dir}/s.txt`, "s.txt", 64 << 20, ["report", "source"]);
      try {
        assertEquals([...src.found], ["report"], `at ${at}`);
      } finally {
        src.close();
      }
    });
  }
  withDir({ "s.txt": "map nic rx 4K to\n".repeat(200_000) }, (dir) => {
    const src = openScript(denoFiles, `${dir}/s.txt`, "s.txt", 64 << 20, ["report", "\\"]);
    assertEquals(src.found.size, 0);
    src.close();
  });
});

Deno.test("repl.ts --script: a script that records mid-way writes the commands before it", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "swiotlb_stream_" });
  try {
    const lines = "guest new --preset arm-dom0 --swiotlb 1M\ndevice add nic --mask 32\n";
    Deno.writeTextFileSync(`${dir}/rec.txt`, `${lines}record ${dir}/r.txt\nstats\n`);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", "--allow-env", "repl.ts", `${dir}/rec.txt`],
      cwd: root,
      env: { NO_COLOR: "1" },
    }).output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    const rec = Deno.readTextFileSync(`${dir}/r.txt`);
    for (
      const l of ["guest new --preset arm-dom0 --swiotlb 1M", "device add nic --mask 32", "stats"]
    ) {
      assertStringIncludes(rec, l + "\n");
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a recorder told to keep no history refuses to start rather than write a partial file", () => {
  const s = new Session({ cwd: "/lab" });
  s.recorder.keepHistory = false;
  runLine(s, "set radix 10");
  const r = runLine(s, "record /lab/r.txt");
  assertEquals(r.error, "Cannot record from here: this run keeps no commands to replay");
});

Deno.test("repl.ts --script: a script that writes a report, itself or through source, shows its commands", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "swiotlb_stream_" });
  try {
    Deno.writeTextFileSync(`${dir}/r.txt`, `report ${dir}/a.html\n`);
    const lines = "guest new --preset arm-dom0 --swiotlb 1M\nstats\n";
    Deno.writeTextFileSync(`${dir}/own.txt`, `${lines}report ${dir}/own.html\n`);
    Deno.writeTextFileSync(`${dir}/via.txt`, `${lines}source r.txt\n`);
    for (const [script, page] of [["own.txt", "own.html"], ["via.txt", "a.html"]]) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-read",
          "--allow-write",
          "--allow-env",
          "repl.ts",
          "--json",
          `${dir}/${script}`,
        ],
        cwd: root,
        env: { NO_COLOR: "1" },
      }).output();
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      const html = Deno.readTextFileSync(`${dir}/${page}`);
      assertStringIncludes(html, "guest new --preset arm-dom0 --swiotlb 1M");
      assertStringIncludes(html, "stats");
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
