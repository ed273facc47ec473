/**
 * Fault injection for XENMEM_exchange (SPEC §4 "Fault injection"), so that the
 * swiotlb-xen init retry paths (SPEC §5: dma_bits climbing 18…32, "Lowering to <N>MB")
 * can be driven on purpose:
 *
 * - fail the next N exchanges (optionally after some chunks succeeded, for partial
 *   results), optionally after K untouched calls (a fixup failing part-way);
 * - fail every exchange whose address limit is below B bits;
 * - exhaust low memory: every free frame below 2^B becomes Xen's (DOMID_XEN), so the
 *   allocator genuinely finds nothing there, until restored.
 *
 * @module
 */

import { formatSize, PAGE_SIZE } from "../addr.ts";
import { LabError } from "../errors.ts";
import { DOMID_XEN, type FrameRun, type Machine } from "./machine.ts";

/** An injected failure for one exchange: chunk `atChunk` (0-based) fails with `reason`. */
export interface InjectedFailure {
  atChunk: number;
  reason: string;
}

/** The current fault-injection settings (for `guest show` and tests). */
export interface FaultState {
  /** Exchanges still to fail. */
  failNext: number;
  /** Chunks each of those exchanges completes before failing. */
  failAfterChunks: number;
  /** Exchange calls still to go through untouched before those failures start. */
  failAfterExchanges: number;
  /** Exchanges with 0 < address_bits < this fail; 0 = off. */
  failBelowBits: number;
  /** Frames currently taken from the free pool by {@link Faults.exhaustLow}. */
  exhaustedFrames: number;
}

/** Fault injection settings consulted by every exchange. */
export class Faults {
  readonly #machine: Machine;
  #failNext = 0;
  #failAfterChunks = 0;
  #failAfterExchanges = 0;
  #failBelowBits = 0;
  #exhausted: FrameRun[] = [];

  constructor(machine: Machine) {
    this.#machine = machine;
  }

  /**
   * Makes the next `count` exchanges fail. With `afterChunks` > 0 each of them first
   * completes that many chunks, which yields a partial `nrExchanged`. With
   * `afterExchanges` > 0 that many exchange calls go through untouched first (each may
   * still fail on its own), so a fixup fails part-way:
   * the segments before the failing one are in the tree when the pool is given up.
   */
  failNext(count: number, afterChunks = 0, afterExchanges = 0): void {
    if (
      !Number.isInteger(count) || count < 0 || !Number.isInteger(afterChunks) || afterChunks < 0 ||
      !Number.isInteger(afterExchanges) || afterExchanges < 0
    ) {
      throw new LabError(
        `Cannot fail ${count} exchanges after ${afterChunks} chunks: expected counts`,
      );
    }
    this.#failNext = count;
    this.#failAfterChunks = afterChunks;
    this.#failAfterExchanges = count > 0 ? afterExchanges : 0;
  }

  /** Makes every exchange asking for frames below 2^bits (bits < `bits`) fail; 0 turns it off. */
  failBelow(bits: number): void {
    if (!Number.isInteger(bits) || bits < 0 || bits > 64) {
      throw new LabError(`Cannot fail exchanges below ${bits} bits: expected 0 to 64`);
    }
    this.#failBelowBits = bits;
  }

  /**
   * Marks every free frame below 2^bits as reserved by Xen, so that exchanges under that
   * limit find no memory. Returns the number of frames taken. Undo with {@link restoreLow}.
   */
  exhaustLow(bits: number): number {
    const limit = bits >= 64 ? this.#machine.nrFrames : Math.min(
      this.#machine.nrFrames,
      Math.floor(2 ** bits / PAGE_SIZE),
    );
    const runs: FrameRun[] = [];
    for (const { mfn, count } of this.#machine.freeBlocks()) {
      if (mfn < limit) runs.push({ mfn, count: Math.min(count, limit - mfn) });
    }
    let taken = 0;
    for (const run of runs) {
      this.#machine.claim(run.mfn, run.count, DOMID_XEN);
      this.#exhausted.push(run);
      taken += run.count;
    }
    return taken;
  }

  /** Gives back every frame {@link exhaustLow} took; returns how many. */
  restoreLow(): number {
    let given = 0;
    for (const run of this.#exhausted) {
      this.#machine.freeRange(run.mfn, run.count);
      given += run.count;
    }
    this.#exhausted = [];
    return given;
  }

  /** Turns every kind of fault injection off (and restores exhausted memory). */
  reset(): void {
    this.#failNext = 0;
    this.#failAfterChunks = 0;
    this.#failAfterExchanges = 0;
    this.#failBelowBits = 0;
    this.restoreLow();
  }

  /** The current settings. */
  get state(): FaultState {
    return {
      failNext: this.#failNext,
      failAfterChunks: this.#failAfterChunks,
      failAfterExchanges: this.#failAfterExchanges,
      failBelowBits: this.#failBelowBits,
      exhaustedFrames: this.#exhausted.reduce((n, r) => n + r.count, 0),
    };
  }

  /**
   * Called once at the start of every exchange: says whether (and at which chunk) it
   * must fail. A "fail below" match does not use up a "fail next".
   */
  consult(addressBits: number): InjectedFailure | undefined {
    if (addressBits !== 0 && addressBits < this.#failBelowBits) {
      return {
        atChunk: 0,
        reason: `fault injection: exchanges below ${this.#failBelowBits} bits fail`,
      };
    }
    if (this.#failNext > 0) {
      if (this.#failAfterExchanges > 0) {
        this.#failAfterExchanges--;
        return undefined;
      }
      this.#failNext--;
      return {
        atChunk: this.#failAfterChunks,
        reason: `fault injection: failing the next exchanges (${this.#failNext} more after this)`,
      };
    }
    return undefined;
  }

  /** One line describing the settings, for the REPL. */
  describe(): string {
    const s = this.state;
    const parts: string[] = [];
    if (s.failNext > 0) {
      parts.push(
        `next ${s.failNext} exchange(s) fail` +
          (s.failAfterChunks > 0 ? ` after ${s.failAfterChunks} chunk(s)` : "") +
          (s.failAfterExchanges > 0 ? `, after ${s.failAfterExchanges} more go through` : ""),
      );
    }
    if (s.failBelowBits > 0) parts.push(`exchanges below ${s.failBelowBits} bits fail`);
    if (s.exhaustedFrames > 0) {
      parts.push(`${formatSize(s.exhaustedFrames * PAGE_SIZE)} of low memory held by xen`);
    }
    return parts.length === 0 ? "no fault injection" : parts.join("; ");
  }
}
