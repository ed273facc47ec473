/**
 * Text views of the DMA API calls: what happened (bounced or fast path), why (the
 * engine's `why`), where (slots, segment, bounce phys, bus), what moved, and what to try
 * next (UX.md).
 *
 * @module
 */

import { slotsFor } from "../../swiotlb/mod.ts";
import {
  type Direction,
  directionName,
  directionShort,
  DMA_FROM_DEVICE,
  DMA_TO_DEVICE,
} from "../../direction.ts";
import type { MapResult, SgResult } from "../../dma/ops.ts";
import type { Fmt } from "./format.ts";
import { sizeArg } from "./format.ts";
import { next } from "./guest.ts";

/** "slots 0-3 of segment 0". */
function slotRange(slot: number, size: number, segment: number | null): string {
  const n = slotsFor(size);
  const range = n === 1 ? `slot ${slot}` : `slots ${slot}-${slot + n - 1}`;
  return segment === null ? range : `${range} of segment ${segment}`;
}

/** The answer of `map` (also used for a failed map, after the error line). */
export function renderMap(
  r: MapResult,
  dev: string,
  size: number,
  dir: Direction,
  fmt: Fmt,
): string[] {
  const out: string[] = [];
  const bus = fmt.num(r.bus);
  const d = directionShort(dir);
  if (r.error) {
    out.push(`  ${r.why}`);
    out.push(`  dma handle ${bus} is the DMA error code: dma_mapping_error() catches it`);
    out.push("  " + next(fmt, "slots", "stats"));
    return out;
  }
  if (r.bounced) {
    out.push(`${fmt.yellow("bounced")}: ${r.why}`);
    out.push(
      `  ${slotRange(r.slot ?? 0, size, r.segment)} → bounce phys ${fmt.num(r.phys)}, bus ${bus}`,
    );
    if (r.copied > 0) {
      out.push(`  copied ${r.copied} bytes CPU → bounce (${directionName(dir)})`);
    } else {
      out.push(
        `  nothing copied at map time (${directionName(dir)}: ` +
          (dir === DMA_FROM_DEVICE ? "the device fills the bounce buffer)" : "no data to send)"),
      );
    }
  } else {
    out.push(`${fmt.green("fast path")} (no bounce): ${r.why}`);
    out.push(`  phys ${fmt.num(r.phys)} → bus ${bus}`);
  }
  const s = sizeArg(size);
  const hints = dir === DMA_TO_DEVICE
    ? [`dma read ${dev} ${bus} 16`, `unmap ${dev} ${bus} ${s} ${d}`]
    : [
      `dma write ${dev} ${bus} ${s} --pattern a5`,
      `sync ${dev} ${bus} ${s} ${d} --for cpu`,
      `unmap ${dev} ${bus} ${s} ${d}`,
    ];
  out.push(`  dma handle ${bus}   ${next(fmt, ...hints)}`);
  return out;
}

/** The `--json` object of `map` (SPEC §10). */
export function mapJson(r: MapResult, size: number, dir: Direction): Record<string, unknown> {
  return {
    bus: r.bus,
    phys: r.phys,
    bounced: r.bounced,
    slot: r.bounced ? r.slot : null,
    segment: r.bounced ? r.segment : null,
    copied: r.copied,
    size,
    dir: directionShort(dir),
    mapping_error: r.error,
    why: r.why,
  };
}

/** `unmap` / `sync` / `unmap-sg` / `sync-sg`: what moved where. */
export function renderCopied(
  what: string,
  copied: number,
  dir: Direction,
  toCpu: boolean,
  fmt: Fmt,
): string[] {
  const arrow = toCpu ? "bounce → CPU" : "CPU → bounce";
  const why = copied > 0
    ? ""
    : toCpu && dir === DMA_TO_DEVICE
    ? ` (${directionName(dir)}: nothing to copy back)`
    : !toCpu && dir === DMA_FROM_DEVICE
    ? ` (${directionName(dir)}: nothing to send)`
    : " (no bounce buffer behind it, or nothing to copy)";
  return [
    `${what}: copied ${copied} bytes ${arrow}${why}`,
    "  " + next(fmt, "buf read NAME", "slots", "stats"),
  ];
}

/** `map-sg`: one line per element. */
export function renderSg(r: SgResult, fmt: Fmt): string[] {
  const out: string[] = [];
  out.push(
    r.error
      ? `  dma_map_sg returned ${fmt.num(r.ret)}: ${r.why}`
      : `dma_map_sg returned ${r.ret}: ${r.why}`,
  );
  r.elements.forEach((e, i) => {
    const how = e.bounced ? `${fmt.yellow("bounced")} (slot ${e.slot})` : fmt.green("direct");
    out.push(
      `  [${i}] phys ${fmt.num(e.phys)} +${sizeArg(e.length)} → dma_address ${
        fmt.num(e.dmaAddress)
      }` +
        ` dma_length ${e.dmaLength}  ${how}`,
    );
  });
  return out;
}

/** The `--json` object of `map-sg`. */
export function sgJson(r: SgResult): Record<string, unknown> {
  return {
    ret: r.ret,
    mapping_error: r.error,
    why: r.why,
    elements: r.elements.map((e) => ({
      phys: e.phys,
      length: e.length,
      dma_address: e.dmaAddress,
      dma_length: e.dmaLength,
      bounced: e.bounced,
      slot: e.slot,
    })),
  };
}
