/**
 * A script's lines, read as the runner needs them, so a million-line replay holds one
 * chunk of its file at a time rather than its text and an array of every line (issue 14).
 * The lines are those of `text.split(/\r?\n/)`: a `\r` before a `\n` is dropped, a lone
 * one kept, and the text after the last `\n` (empty when the text ends with one) is the
 * last line.
 *
 * @module
 */

/** The lines of a script, one at a time. */
export interface LineSource {
  /** The next line without its line ending, or undefined after the last. */
  next(): string | undefined;
}

/** Without its `\r` when the line ended in `\r\n`. */
function withoutCR(line: string): string {
  return line.length > 0 && line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
}

/**
 * The lines of a text held whole (a script given as a string, an in-memory file).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { TextLines } from "./lines.ts";
 * const src = new TextLines("a\r\nb\rc\n");
 * assertEquals([src.next(), src.next(), src.next(), src.next()], ["a", "b\rc", "", undefined]);
 * ```
 */
export class TextLines implements LineSource {
  readonly #text: string;
  /** Where the next line starts; past the end once the last line was given. */
  #pos = 0;

  constructor(text: string) {
    this.#text = text;
  }

  next(): string | undefined {
    const text = this.#text;
    if (this.#pos > text.length) return undefined;
    const nl = text.indexOf("\n", this.#pos);
    if (nl < 0) {
      const last = text.slice(this.#pos);
      this.#pos = text.length + 1;
      return last;
    }
    const line = text.slice(this.#pos, nl);
    this.#pos = nl + 1;
    return withoutCR(line);
  }
}

/** Reads up to `buf.length` bytes into `buf`; null at the end. */
export type ReadBytes = (buf: Uint8Array) => number | null;

/** Options of {@link ChunkLines}. */
export interface ChunkLinesOptions {
  /** Read at most this many bytes. */
  limit: number;
  /** Called (and what it throws, thrown) when there are more bytes than `limit`. */
  over?: () => never;
  /** Keep a leading byte order mark, as Deno.readTextFileSync does (stdin drops it). */
  keepBOM?: boolean;
  /** Bytes read at a time. */
  chunkBytes?: number;
}

/**
 * The lines of a byte stream read a chunk at a time (a script file, piped stdin),
 * decoded as UTF-8 with bad bytes replaced, as a whole read and decode would. A line
 * longer than a chunk is gathered in pieces and joined once.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChunkLines } from "./lines.ts";
 * const bytes = new TextEncoder().encode("guest new\r\nmap nic rx 4K to\n");
 * let at = 0;
 * const read = (buf: Uint8Array) => {
 *   if (at === bytes.length) return null;
 *   const n = Math.min(buf.length, bytes.length - at);
 *   buf.set(bytes.subarray(at, at + n));
 *   at += n;
 *   return n;
 * };
 * const src = new ChunkLines(read, { limit: 1 << 20, chunkBytes: 5 });
 * assertEquals([src.next(), src.next(), src.next(), src.next()], [
 *   "guest new",
 *   "map nic rx 4K to",
 *   "",
 *   undefined,
 * ]);
 * ```
 */
export class ChunkLines implements LineSource {
  readonly #read: ReadBytes;
  readonly #opts: ChunkLinesOptions;
  readonly #decoder: TextDecoder;
  readonly #buf: Uint8Array;
  #chunk = "";
  #pos = 0;
  /** Pieces of the line being gathered, from chunks before `#chunk`. */
  #pending: string[] = [];
  #bytes = 0;
  #eof = false;
  #done = false;

  constructor(read: ReadBytes, opts: ChunkLinesOptions) {
    this.#read = read;
    this.#opts = opts;
    this.#decoder = new TextDecoder("utf-8", { ignoreBOM: opts.keepBOM === true });
    this.#buf = new Uint8Array(opts.chunkBytes ?? 64 << 10);
  }

  /** Bytes read so far. */
  get bytes(): number {
    return this.#bytes;
  }

  next(): string | undefined {
    for (;;) {
      const nl = this.#chunk.indexOf("\n", this.#pos);
      if (nl >= 0) {
        let line = this.#chunk.slice(this.#pos, nl);
        this.#pos = nl + 1;
        if (this.#pending.length > 0) {
          this.#pending.push(line);
          line = this.#pending.join("");
          this.#pending = [];
        }
        return withoutCR(line);
      }
      if (this.#pos < this.#chunk.length) this.#pending.push(this.#chunk.slice(this.#pos));
      this.#chunk = "";
      this.#pos = 0;
      if (this.#eof) {
        if (this.#done) return undefined;
        this.#done = true;
        const last = this.#pending.join("");
        this.#pending = [];
        return last;
      }
      this.#fill();
    }
  }

  /** Reads and decodes the next chunk (the decoder's tail at the end). */
  #fill(): void {
    const room = Math.min(this.#buf.length, this.#opts.limit + 1 - this.#bytes);
    const n = room > 0 ? this.#read(this.#buf.subarray(0, room)) : null;
    if (n === null || n === 0) {
      this.#eof = true;
      this.#chunk = this.#decoder.decode();
      return;
    }
    this.#bytes += n;
    if (this.#bytes > this.#opts.limit) {
      if (this.#opts.over) this.#opts.over();
      // No complaint asked for: the stream ends at the limit.
      this.#bytes = this.#opts.limit;
      this.#eof = true;
      this.#chunk = this.#decoder.decode(this.#buf.subarray(0, n - 1));
      return;
    }
    this.#chunk = this.#decoder.decode(this.#buf.subarray(0, n), { stream: true });
  }
}
