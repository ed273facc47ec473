/**
 * The guest's named CPU buffers: kmalloc-style allocation in guest memory, byte access
 * by name and offset, and the frames behind each (SPEC §10 `buf`).
 *
 * @module
 */

import { PAGE_SIZE, pfnOf } from "../addr.ts";
import { addr, LabError, msg } from "../errors.ts";
import type { Domain } from "../xen/mod.ts";
import type { BufferView, P2mView } from "./views.ts";

/** A named CPU buffer in guest memory. */
export interface Buffer {
  name: string;
  phys: number;
  size: number;
}

/** kmalloc's alignment: the size rounded up to a power of two, at most a page (SPEC §10). */
function kmallocAlign(size: number): number {
  let a = 1;
  while (a < size && a < PAGE_SIZE) a *= 2;
  return a;
}

/** Looks a name up, or fails with a code a face turns into a hint. */
export function named<T>(
  map: Map<string, T>,
  name: string,
  what: string,
  code: "unknown-device" | "unknown-buffer",
): T {
  const v = map.get(name);
  if (v !== undefined) return v;
  const known = [...map.keys()];
  throw new LabError(
    `Unknown ${what} "${name}"` + (known.length ? `: ${what}s are ${known.join(", ")}` : ""),
    "usage",
    code,
  );
}

/** The buffers of one guest. */
export class BufferTable {
  readonly #domain: Domain;
  readonly #map = new Map<string, Buffer>();

  constructor(domain: Domain) {
    this.#domain = domain;
  }

  alloc(name: string, size: number, align?: number): Buffer {
    if (!/^[A-Za-z_][\w.-]*$/.test(name)) {
      throw new LabError(
        `Cannot allocate buffer "${name}": a name starts with a letter and holds letters, digits, _ . -`,
        "usage",
        "bad-name",
      );
    }
    if (this.#map.has(name)) {
      throw new LabError(`Buffer "${name}" exists already`, "usage", "exists");
    }
    if (!(size > 0)) {
      throw new LabError(
        msg`Cannot allocate buffer "${name}" of ${size} bytes`,
        "usage",
        "out-of-range",
      );
    }
    const phys = this.#domain.allocPhys(size, align ?? kmallocAlign(size));
    const b = { name, phys, size };
    this.#map.set(name, b);
    return b;
  }

  all(): Buffer[] {
    return [...this.#map.values()];
  }

  get(name: string): Buffer {
    return named(this.#map, name, "buffer", "unknown-buffer");
  }

  /** A buffer with the frames behind it. */
  view(name: string, p2m: (pfn: number, count: number) => P2mView): BufferView {
    const b = this.get(name);
    const firstPfn = pfnOf(b.phys);
    const lastPfn = pfnOf(b.phys + b.size - 1);
    let frames: BufferView["frames"] = [];
    try {
      frames = p2m(firstPfn, lastPfn - firstPfn + 1).runs;
    } catch {
      // A buffer outside the p2m's range still works; it just has no frame listing.
      frames = [];
    }
    return { ...b, firstPfn, lastPfn, frames };
  }

  #range(name: string, offset: number, len: number): number {
    const b = this.get(name);
    if (offset < 0 || len < 0 || offset + len > b.size) {
      throw new LabError(
        offset > b.size
          ? msg`Offset ${addr(offset)} is past the end of buffer "${name}" (${b.size} bytes)`
          : msg`Range ${addr(offset)}+${len} is outside buffer "${name}" (${b.size} bytes)`,
        "usage",
        "out-of-range",
      );
    }
    return b.phys + offset;
  }

  write(name: string, offset: number, bytes: Uint8Array): void {
    this.#domain.write(this.#range(name, offset, bytes.length), bytes);
  }

  /** Checks the whole range, returns its first `keep` bytes (what a caller shows). */
  read(name: string, offset: number, len: number, keep = len): Uint8Array {
    return this.#domain.read(this.#range(name, offset, len), Math.min(keep, len));
  }
}
