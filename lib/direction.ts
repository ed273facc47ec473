/**
 * enum dma_data_direction (SPEC §2) and its parsing.
 *
 * @module
 */

import { LabError } from "./errors.ts";

/** DMA_BIDIRECTIONAL 0, DMA_TO_DEVICE 1, DMA_FROM_DEVICE 2, DMA_NONE 3. */
export const DMA_BIDIRECTIONAL = 0;
export const DMA_TO_DEVICE = 1;
export const DMA_FROM_DEVICE = 2;
export const DMA_NONE = 3;

/** One of the four kernel directions, as its numeric value. */
export type Direction = 0 | 1 | 2 | 3;

const NAMES: Record<string, Direction> = {
  bidi: DMA_BIDIRECTIONAL,
  bidirectional: DMA_BIDIRECTIONAL,
  dma_bidirectional: DMA_BIDIRECTIONAL,
  to: DMA_TO_DEVICE,
  to_device: DMA_TO_DEVICE,
  dma_to_device: DMA_TO_DEVICE,
  from: DMA_FROM_DEVICE,
  from_device: DMA_FROM_DEVICE,
  dma_from_device: DMA_FROM_DEVICE,
  none: DMA_NONE,
  dma_none: DMA_NONE,
};

/** Accepts `to`, `from`, `bidi`, `none` and the kernel names (`DMA_TO_DEVICE`, …). */
export function parseDirection(text: string): Direction {
  const key = text.trim().toLowerCase().replaceAll("-", "_");
  const d = Object.hasOwn(NAMES, key) ? NAMES[key] : undefined;
  if (d === undefined) {
    throw new LabError(
      `Cannot parse direction "${text}": expected to, from, bidi or none (or DMA_TO_DEVICE, …)`,
    );
  }
  return d;
}

/** The kernel's name for a direction, e.g. "DMA_TO_DEVICE". */
export function directionName(dir: Direction): string {
  return ["DMA_BIDIRECTIONAL", "DMA_TO_DEVICE", "DMA_FROM_DEVICE", "DMA_NONE"][dir];
}

/** Short name used in the REPL: bidi, to, from, none. */
export function directionShort(dir: Direction): string {
  return ["bidi", "to", "from", "none"][dir];
}
