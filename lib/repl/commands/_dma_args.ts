/**
 * The arguments the DMA verbs share: device, bus address, size and direction, `--for`,
 * and their parsing.
 *
 * @module
 */

import { type Direction, parseDirection } from "../../direction.ts";
import type { SyncTarget } from "../../dma/ops.ts";
import { LabError } from "../../errors.ts";
import type { ArgSpec, OptSpec } from "../table.ts";

export const DEV: ArgSpec = { name: "DEV", help: "a device (device add)", complete: "device" };
export const BUS: ArgSpec = {
  name: "BUS",
  help: "a bus address (dma handle), e.g. 0x7f840000 or $bus",
};
export const SIZE: ArgSpec = { name: "SIZE", help: "bytes: 4096, 0x1000, 4K" };
export const DIR: ArgSpec = {
  name: "DIR",
  help: "to, from, bidi, none (or DMA_TO_DEVICE, …)",
  complete: "dir",
};
export const FOR: OptSpec = {
  flags: "--for <target>",
  help: "cpu (dma_sync_*_for_cpu) or device (dma_sync_*_for_device)",
  choices: ["cpu", "device"],
  required: true,
};

/**
 * parseDirection, refusing what is not a direction. (lib/direction.ts looks names up in
 * a plain object, so "constructor" would come back as a function: guard it here.)
 */
export function dirOf(text: string): Direction {
  const d = parseDirection(text);
  if (typeof d !== "number") {
    throw new LabError(
      `Cannot parse direction "${text}": expected to, from, bidi or none (or DMA_TO_DEVICE, …)`,
    );
  }
  return d;
}

export function target(v: string | boolean | undefined): SyncTarget {
  if (v !== "cpu" && v !== "device") throw new LabError("sync needs --for cpu or --for device");
  return v;
}
