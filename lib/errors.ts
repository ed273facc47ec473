/**
 * The error value of swiotlb-lab: a refused call, a bad argument, a kernel BUG().
 * The REPL shows `message`; scripts exit non-zero. `kind` lets callers and tests tell
 * a refusal (checked policy) from a BUG or a usage error without parsing text.
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

/** An error with a clear, sentence-case message that says what and why. */
export class LabError extends Error {
  readonly kind: LabErrorKind;
  constructor(message: string, kind: LabErrorKind = "usage") {
    super(message);
    this.name = "LabError";
    this.kind = kind;
  }
}
