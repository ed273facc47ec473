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
  const fail = (why: string) => new LabError(`Cannot read ${what} ${clip(name)}: ${why}`);
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
