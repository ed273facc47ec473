/**
 * What the swiotlb core needs to move bytes: a guest-physical memory. The guest
 * (lib/xen) implements it on top of its p2m and the machine frames; the core alone can
 * run without one, in which case no bytes move (SPEC §11).
 *
 * @module
 */

/** Byte access to guest-physical addresses. */
export interface PhysMemory {
  /** Reads `len` bytes starting at guest-physical `addr`. */
  read(addr: number, len: number): Uint8Array;
  /** Writes `bytes` starting at guest-physical `addr`. */
  write(addr: number, bytes: Uint8Array): void;
  /** Copies `len` bytes from guest-physical `src` to guest-physical `dst` (swiotlb_bounce). */
  copy(dst: number, src: number, len: number): void;
  /**
   * Is [addr, addr + len) memory? The DMA API checks it before a call commits anything;
   * a store without it (a test's sparse map) holds every address.
   */
  contains?(addr: number, len: number): boolean;
}
