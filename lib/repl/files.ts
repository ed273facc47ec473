/**
 * The files a user hands the REPL (scripts, `source`, `guest load`) and the limits that
 * keep a wrong one from hanging or flooding the session (issue 11): only regular files,
 * checked before they are read; a size cap per kind; a cap on the lines one top-level
 * command or script may run, however deeply `source` nests; and a script that is not one
 * (an unknown command on every line) stops after a few, quoting only the start of each
 * line.
 *
 * @module
 */

import { LabError } from "../errors.ts";
import { ChunkLines, type LineSource, TextLines } from "./lines.ts";

/**
 * The largest script `source`, `--script FILE` or piped stdin may be (64 MiB: a replay of
 * a million operations fits; /dev/zero or a disk image does not).
 */
export const SCRIPT_MAX_BYTES = 64 << 20;
/** The largest guest file `guest load` reads (256 KiB, the engine's own limit). */
export { GUEST_FILE_MAX_BYTES } from "../guest/mod.ts";
/**
 * Lines one top-level line may run through nested `source`s (a top-level script itself is
 * as long as its size allows: each of its lines gets this budget).
 */
export const MAX_SCRIPT_LINES = 100_000;
/** How deeply `source` may nest. */
export const MAX_SOURCE_DEPTH = 16;
/** Unknown-command lines after which a file is taken for something else and stopped. */
export const MAX_UNKNOWN_LINES = 3;
/** Characters of a user's word or line an error message quotes. */
export const QUOTE_CHARS = 60;

/** What a path is, as far as reading it goes. */
export type FileKind = "file" | "directory" | "fifo" | "device" | "socket" | "other";

/** {@link FileAccess.stat}'s answer. */
export interface FileStat {
  kind: FileKind;
  /** Bytes (for a regular file). */
  size: number;
}

/** File access, injectable so tests can run scripts without touching the disk. */
export interface FileAccess {
  readText(path: string): string;
  writeText(path: string, text: string): void;
  /** Adds `text` at the end of the file, creating it when missing (`record`'s lines). */
  appendText(path: string, text: string): void;
  exists(path: string): boolean;
  /** What `path` is (following symlinks); throws when it cannot be looked at. */
  stat(path: string): FileStat;
  /**
   * Opens `path` to read it in chunks (scripts are streamed so); without it, a script is
   * read whole with {@link readText}.
   */
  openRead?(path: string): ByteReader;
}

/** A file open for reading. */
export interface ByteReader {
  /** Reads up to `buf.length` bytes into `buf`; null at the end. */
  read(buf: Uint8Array): number | null;
  close(): void;
}

/** The kind of a `Deno.FileInfo`. */
export function fileKind(info: Deno.FileInfo): FileKind {
  if (info.isFile) return "file";
  if (info.isDirectory) return "directory";
  if (info.isFifo) return "fifo";
  if (info.isCharDevice || info.isBlockDevice) return "device";
  if (info.isSocket) return "socket";
  return "other";
}

/** The real file system (Deno). */
export const denoFiles: FileAccess = {
  readText: (path) => Deno.readTextFileSync(path),
  writeText: (path, text) => Deno.writeTextFileSync(path, text),
  appendText: (path, text) => Deno.writeTextFileSync(path, text, { append: true }),
  exists: (path) => {
    try {
      Deno.statSync(path);
      return true;
    } catch {
      return false;
    }
  },
  stat: (path) => {
    const info = Deno.statSync(path);
    return { kind: fileKind(info), size: info.size };
  },
  openRead: (path) => {
    const f = Deno.openSync(path, { read: true });
    return { read: (buf) => f.readSync(buf), close: () => f.close() };
  },
};

const KIND_WORDS: Record<Exclude<FileKind, "file">, string> = {
  directory: "a directory",
  fifo: "a FIFO (named pipe)",
  device: "a device",
  socket: "a socket",
  other: "not a regular file",
};

/** "1 MiB", "256 KiB", "1.5 MiB", "300 bytes". */
export function sizeWords(n: number): string {
  if (n >= 1 << 20) return `${+(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${+(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} bytes`;
}

/** At most {@link QUOTE_CHARS} characters of `s`, with "…" when cut. */
export function clip(s: string, max = QUOTE_CHARS): string {
  const chars = [...s];
  return chars.length <= max ? s : chars.slice(0, max).join("") + "…";
}

/** The checks before a user's file is read: a regular file, at most `maxBytes`. */
function checkUserFile(
  files: FileAccess,
  path: string,
  name: string,
  what: string,
  maxBytes: number,
): { fail: (why: string) => LabError; over: (size: number) => LabError } {
  // Code "file": the failure is the machine's (a missing or unreadable file), not the
  // engine's; a recording does not replay it (lib/repl/record.ts).
  const fail = (why: string) =>
    new LabError(`Cannot read ${what} ${clip(name)}: ${why}`, "usage", "file");
  let st: FileStat;
  try {
    st = files.stat(path);
  } catch (e) {
    throw fail((e as Error).message);
  }
  if (st.kind !== "file") throw fail(`it is ${KIND_WORDS[st.kind]}, not a regular file`);
  const over = (size: number) =>
    fail(`it is ${sizeWords(size)}; a ${what} may be at most ${sizeWords(maxBytes)}`);
  if (st.size > maxBytes) throw over(st.size);
  return { fail, over };
}

/**
 * Reads a user's file as text, refusing (before reading) anything but a regular file
 * and a file over `maxBytes`, and (after) a file holding NUL bytes. `what` names the
 * file in messages ("script", "guest file"); `name` is the path as the user gave it.
 */
export function readUserFile(
  files: FileAccess,
  path: string,
  name: string,
  what: string,
  maxBytes: number,
): string {
  const { fail, over } = checkUserFile(files, path, name, what, maxBytes);
  let text: string;
  try {
    text = files.readText(path);
  } catch (e) {
    throw fail((e as Error).message);
  }
  // It may have grown since the stat.
  if (text.length > maxBytes) throw over(new TextEncoder().encode(text).length);
  if (text.includes("\0")) throw fail("it holds NUL bytes, so it is not a text file");
  return text;
}

/** A script open for its lines, one at a time. */
export interface ScriptLines extends LineSource {
  close(): void;
  /** Which of the words {@link openScript} was asked to look for the file holds. */
  readonly found: ReadonlySet<string>;
}

/**
 * Opens a script as {@link readUserFile} reads one, with the same refusals before any
 * line runs (a NUL byte or growth past `maxBytes` is found by a first pass over the
 * bytes, which holds one chunk at a time), then streams its lines (lib/repl/lines.ts).
 * Without {@link FileAccess.openRead} the text is read whole.
 */
export function openScript(
  files: FileAccess,
  path: string,
  name: string,
  maxBytes: number,
  find: readonly string[] = [],
): ScriptLines {
  if (files.openRead === undefined) {
    const text = readUserFile(files, path, name, "script", maxBytes);
    return linesOf(text, new Set(find.filter((w) => text.includes(w))));
  }
  const { fail, over } = checkUserFile(files, path, name, "script", maxBytes);
  const open = () => {
    try {
      return files.openRead!(path);
    } catch (e) {
      throw fail((e as Error).message);
    }
  };
  const read = (f: ByteReader, buf: Uint8Array) => {
    try {
      return f.read(buf);
    } catch (e) {
      throw fail((e as Error).message);
    }
  };
  // The first pass: the size as read (it may have grown since the stat), NUL bytes, and
  // the words asked for.
  let size = 0;
  const found = new Set<string>();
  const scan = open();
  try {
    const buf = new Uint8Array(SCAN_BYTES);
    const words = new FindWords(find);
    for (let n = read(scan, buf); n !== null && n > 0; n = read(scan, buf)) {
      size += n;
      if (size > maxBytes) throw over(size);
      const chunk = buf.subarray(0, n);
      if (chunk.includes(0)) throw fail("it holds NUL bytes, so it is not a text file");
      words.search(chunk, found);
    }
  } finally {
    scan.close();
  }
  const f = open();
  // The lines of the bytes the first pass checked, however the file changes meanwhile.
  const lines = new ChunkLines((buf) => read(f, buf), { limit: size, keepBOM: true });
  return { next: () => lines.next(), close: () => f.close(), found };
}

/**
 * ASCII words looked for in a file read a chunk at a time (one may straddle two chunks).
 * A chunk is searched as one character a byte (windows-1252, which maps every ASCII byte
 * to itself and no other byte to ASCII), with native string search.
 */
class FindWords {
  readonly #words: readonly string[];
  readonly #keep: number;
  readonly #bytes = new TextDecoder("windows-1252");
  /** The end of the chunk before, as long as the longest word less one. */
  #tail = "";

  constructor(words: readonly string[]) {
    this.#words = words;
    this.#keep = Math.max(0, ...words.map((w) => w.length - 1));
  }

  /** Adds to `found` the words in `chunk`, or across its start. */
  search(chunk: Uint8Array, found: Set<string>): void {
    if (this.#words.every((w) => found.has(w))) return;
    const text = this.#tail + this.#bytes.decode(chunk);
    for (const w of this.#words) if (!found.has(w) && text.includes(w)) found.add(w);
    this.#tail = this.#keep === 0 ? "" : text.slice(-this.#keep);
  }
}

/** Bytes the first pass of {@link openScript} reads at a time. */
const SCAN_BYTES = 1 << 20;

function linesOf(text: string, found: ReadonlySet<string>): ScriptLines {
  const lines = new TextLines(text);
  return { next: () => lines.next(), close: () => {}, found };
}
