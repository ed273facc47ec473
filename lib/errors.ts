/**
 * The error value of swiotlb-lab: a refused call, a bad argument, a kernel BUG().
 * `kind` tells a refusal (checked policy) from a BUG or a usage error, and `code` says
 * which one it is, so that callers and the REPL (which adds its own hints, such as how
 * to make a missing device) never parse the text. The message keeps its addresses as
 * {@link AddrPart}s, so a face can print it in its own radix ({@link LabError.render}).
 *
 * @module
 */

/** What sort of failure a {@link LabError} is. */
export type LabErrorKind =
  /** Bad input: unknown name, unparsable number, out-of-range argument. */
  | "usage"
  /** The checked policy refused a call the kernel would have performed (SPEC §3). */
  | "refused"
  /** The kernel would BUG() here (size 0, DMA_NONE). */
  | "bug"
  /** An operation failed as the kernel's would (pool full, exchange failure). */
  | "failed";

/** Which error it is, for faces that add their own hints (no REPL word lives here). */
export type ErrorCode =
  | "bad-number"
  | "bad-name"
  | "bad-config"
  | "arm-is-autotranslated"
  | "exists"
  | "unknown-device"
  | "unknown-buffer"
  | "unknown-preset"
  | "unknown-segment"
  /** No guest of the session has that name (guest use, guest drop). */
  | "unknown-guest"
  | "no-dma-ops"
  | "guest-dead"
  | "no-tree"
  | "no-pool"
  | "no-sg-list"
  | "sg-count"
  | "no-coherent"
  | "coherent-failed"
  | "out-of-range"
  | "outside-memory"
  | "outside-pool"
  | "not-mapped"
  | "wrong-size"
  | "wrong-direction"
  | "rfc-v1-round-trip"
  | "tree-overlap"
  | "short-segment"
  | "unknown-bus"
  | "iommu-fault"
  | "beyond-device-mask"
  | "kernel-bug"
  | "file"
  | "pipe"
  | "other";

/** An address inside a message: printed in the reader's radix. */
export class AddrPart {
  readonly value: number | bigint;
  /**
   * In hex, at least this many digits after 0x (16 for a %pa-style phys_addr_t); 0: as
   * many as it takes. Decimal is never padded.
   */
  readonly hexDigits: number;
  constructor(value: number | bigint, hexDigits = 0) {
    this.value = value;
    this.hexDigits = hexDigits;
  }
}

/** One piece of a message: words, or an address. */
export type MessagePart = string | AddrPart;

/** Marks `x` as an address in a {@link msg} template. */
export function addr(x: number | bigint): AddrPart {
  return new AddrPart(x);
}

/** An address printed at the full 64-bit width of %pa when the radix is 16. */
export function addrPa(x: number | bigint): AddrPart {
  return new AddrPart(x, 16);
}

/**
 * A message template: `msg\`slot ${n} at ${addr(a)}\``. Plain numbers are counts and
 * sizes (always decimal); {@link addr} values follow the reader's radix. A value that is
 * itself a message (parts from another `msg`) is spliced in, its addresses kept.
 */
export function msg(
  strings: TemplateStringsArray,
  ...values: (string | number | AddrPart | readonly MessagePart[])[]
): MessagePart[] {
  const out: MessagePart[] = [strings[0]];
  values.forEach((v, i) => {
    if (typeof v === "number") out.push(String(v));
    else if (typeof v === "string" || v instanceof AddrPart) out.push(v);
    else out.push(...v);
    out.push(strings[i + 1]);
  });
  return out;
}

/** Joins messages with `sep` between them ("segment 1 […) and segment 2 […)"). */
export function joinParts(
  messages: readonly (readonly MessagePart[])[],
  sep: string,
): MessagePart[] {
  const out: MessagePart[] = [];
  messages.forEach((m, i) => {
    if (i > 0) out.push(sep);
    out.push(...m);
  });
  return out;
}

/** Hex with 0x (the default rendering of an address part). */
function hex(x: number | bigint): string {
  return x < 0 ? "-0x" + (-x).toString(16) : "0x" + x.toString(16);
}

/** Joins message parts, printing addresses with `num`. */
export function renderParts(
  parts: readonly MessagePart[],
  num: (x: number | bigint) => string = hex,
): string {
  let out = "";
  for (const p of parts) {
    if (typeof p === "string") out += p;
    else {
      const s = num(p.value);
      out += p.hexDigits > 0 && s.startsWith("0x")
        ? "0x" + s.slice(2).padStart(p.hexDigits, "0")
        : s;
    }
  }
  return out;
}

/** An error with a clear, sentence-case message that says what and why. */
export class LabError extends Error {
  readonly kind: LabErrorKind;
  readonly code: ErrorCode;
  readonly parts: readonly MessagePart[];

  constructor(
    message: string | readonly MessagePart[],
    kind: LabErrorKind = "usage",
    code: ErrorCode = "other",
  ) {
    const parts = typeof message === "string" ? [message] : message;
    super(renderParts(parts));
    this.name = "LabError";
    this.kind = kind;
    this.code = code;
    this.parts = parts;
  }

  /** The same error, its message led by `prefix` (a caller's context: the address it was given). */
  within(prefix: readonly MessagePart[]): LabError {
    return new LabError([...prefix, ...this.parts], this.kind, this.code);
  }

  /** The message with addresses printed by `num` (a face's radix). */
  render(num: (x: number | bigint) => string): string {
    return renderParts(this.parts, num);
  }
}
