/**
 * Text and JSON views of the DMA API calls: what happened (bounced or fast path), why
 * (the engine's reason code, worded by words.ts), where (slots, segment, bounce phys,
 * bus), what moved, and what to try next (UX.md).
 *
 * @module
 */

import {
  type Direction,
  directionName,
  directionShort,
  DMA_FROM_DEVICE,
  DMA_TO_DEVICE,
} from "../../direction.ts";
import type { CoherentResult, MapResult, SgResult } from "../../dma/ops.ts";
import type { Fmt } from "./format.ts";
import { sizeArg } from "./format.ts";
import { next } from "./guest.ts";
import { coherentWords, failureWords, routeWords } from "./words.ts";
import { snakeKeys } from "./json_keys.ts";

/** "slots 0-3 of segment 0". */
function slotRange(slot: number, nslots: number, segment: number | null): string {
  const range = nslots === 1 ? `slot ${slot}` : `slots ${slot}-${slot + nslots - 1}`;
  return segment === null ? range : `${range} of segment ${segment}`;
}

/** What the answer of `map` needs besides the result. */
export interface MapContext {
  dev: string;
  size: number;
  dir: Direction;
  arch: string;
}

/** The error line of a failed map (said once: the answer's text does not repeat it). */
export function mapError(r: MapResult, c: MapContext, fmt: Fmt): string {
  const why = r.failure ? failureWords(r.failure, c.dev, c.arch, fmt) : "failed";
  return `map of ${c.size} bytes for ${c.dev} failed: ${why}`;
}

/** The answer of `map` (for a failed map, the lines under the error). */
export function renderMap(r: MapResult, c: MapContext, fmt: Fmt): string[] {
  const out: string[] = [];
  const bus = fmt.num(r.bus);
  const d = directionShort(c.dir);
  if (r.error) {
    if (r.route.code !== "fast-path") {
      out.push(`  it had to bounce: ${routeWords(r.route, c.dev, fmt)}`);
    }
    out.push(`  dma handle ${bus} is the DMA error code: dma_mapping_error() catches it`);
    out.push("  " + next(fmt, "slots", "stats"));
    return out;
  }
  if (r.bounced) {
    out.push(`${fmt.yellow("bounced")}: ${routeWords(r.route, c.dev, fmt)}`);
    if (r.released && r.failure) {
      out.push(`  ${fmt.err("warning")}: ${failureWords(r.failure, c.dev, c.arch, fmt)}`);
      out.push(
        `  ${slotRange(r.slot ?? 0, r.nslots, r.segment)} were taken and given back at once ` +
          `(bounce phys ${fmt.num(r.phys)})`,
      );
    } else {
      out.push(
        `  ${slotRange(r.slot ?? 0, r.nslots, r.segment)} → bounce phys ${
          fmt.num(r.phys)
        }, bus ${bus}`,
      );
    }
    if (r.crossesBoundary !== null) {
      const x = r.crossesBoundary;
      out.push(
        `  ${fmt.err("warning")}: on the bus, ${bus}+${c.size} crosses ${c.dev}'s segment ` +
          `boundary (${fmt.num(x.mask)}): the core decided with seg[0].dma_addr + slot × 2048 = ` +
          `${
            fmt.num(x.assumedBus)
          }, but this segment's bus base is elsewhere ("At 0? Not some index?")`,
      );
    }
    if (r.standsFor !== null) {
      out.push(
        `  ${fmt.err("warning")}: under rfc-v1 bus ${bus} stands for phys ${
          fmt.num(r.standsFor)
        } (xen_bus_to_phys), not the bounce slot ${fmt.num(r.phys)}: the pool is not 256 KiB ` +
          "aligned, and masking with 256K - 1 lands elsewhere",
      );
    }
    if (r.copied > 0) {
      out.push(`  copied ${r.copied} bytes CPU → bounce (${directionName(c.dir)})`);
    } else {
      out.push(
        `  nothing copied at map time (${directionName(c.dir)}: ` +
          (c.dir === DMA_FROM_DEVICE ? "the device fills the bounce buffer)" : "no data to send)"),
      );
    }
  } else {
    out.push(`${fmt.green("fast path")} (no bounce): ${routeWords(r.route, c.dev, fmt)}`);
    out.push(`  phys ${fmt.num(r.phys)} → bus ${bus}`);
  }
  const s = sizeArg(c.size);
  const hints = c.dir === DMA_TO_DEVICE
    ? [`dma read ${c.dev} ${bus} 16`, `unmap ${c.dev} ${bus} ${s} ${d}`]
    : [
      `dma write ${c.dev} ${bus} ${s} --pattern a5`,
      `sync ${c.dev} ${bus} ${s} ${d} --for cpu`,
      `unmap ${c.dev} ${bus} ${s} ${d}`,
    ];
  out.push(`  dma handle ${bus}   ${next(fmt, ...hints)}`);
  return out;
}

/** The `--json` object of `map` (SPEC §10 fields first, then every fact the text shows). */
export function mapJson(r: MapResult, c: MapContext): Record<string, unknown> {
  return {
    bus: r.bus,
    phys: r.phys,
    bounced: r.bounced,
    slot: r.bounced ? r.slot : null,
    segment: r.bounced ? r.segment : null,
    nslots: r.nslots,
    slot_last: r.bounced && r.slot !== null ? r.slot + r.nslots - 1 : null,
    copied: r.copied,
    size: c.size,
    dir: directionShort(c.dir),
    mapping_error: r.error,
    released: r.released,
    stands_for: r.standsFor,
    crosses_boundary: r.crossesBoundary === null
      ? null
      : { mask: r.crossesBoundary.mask, assumed_bus: r.crossesBoundary.assumedBus },
    reason: snakeKeys(r.route),
    failure: snakeKeys(r.failure),
  };
}

/** `unmap` / `sync` / `unmap-sg` / `sync-sg`: what moved where. */
export function renderCopied(
  what: string,
  copied: number,
  dir: Direction,
  toCpu: boolean,
  fmt: Fmt,
  more: readonly string[] = [],
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
    ...more,
    "  " + next(fmt, "buf read NAME", "slots", "stats"),
  ];
}

/** The error line of a failed map-sg. */
export function sgError(r: SgResult, dev: string, arch: string, fmt: Fmt): string {
  const f = r.failure;
  return f
    ? `map-sg for ${dev} failed at element ${f.element}: ${
      failureWords(f.failure, dev, arch, fmt)
    }; ${f.undone} mapped element(s) undone${
      f.staleCopied > 0
        ? ` — and undoing them copied ${f.staleCopied} stale bounce bytes back over the driver's buffers (3.11 unmaps with the map's direction)`
        : ""
    }`
    : `map-sg for ${dev} failed`;
}

/** `map-sg`: one line per element. */
export function renderSg(r: SgResult, dev: string, fmt: Fmt): string[] {
  const out: string[] = [];
  out.push(
    r.error
      ? `  dma_map_sg returned ${fmt.num(r.ret)}`
      : `dma_map_sg returned ${r.ret}: ${r.elements.length} element(s) mapped, none merged`,
  );
  // Each element's reason, said once for a run of elements that share it.
  let said = "";
  r.elements.forEach((e, i) => {
    const why = e.bounced && e.route ? routeWords(e.route, dev, fmt) : "";
    if (why !== "" && why !== said) out.push(`  bounced because: ${why}`);
    if (why !== "") said = why;
    const how = e.bounced ? `${fmt.yellow("bounced")} (slot ${e.slot})` : fmt.green("direct");
    out.push(
      `  [${i}] phys ${fmt.num(e.phys)} +${sizeArg(e.length)} → dma_address ${
        fmt.num(e.dmaAddress)
      } dma_length ${e.dmaLength}  ${how}`,
    );
  });
  return out;
}

/** The `--json` object of `map-sg`. */
export function sgJson(r: SgResult): Record<string, unknown> {
  return {
    ret: r.ret,
    mapping_error: r.error,
    failure: r.failure === null ? null : {
      element: r.failure.element,
      failure: snakeKeys(r.failure.failure),
      undone: r.failure.undone,
      stale_copied: r.failure.staleCopied,
    },
    elements: r.elements.map((e) => ({
      phys: e.phys,
      length: e.length,
      dma_address: e.dmaAddress,
      dma_length: e.dmaLength,
      bounced: e.bounced,
      slot: e.slot,
      reason: snakeKeys(e.route),
    })),
  };
}

/** `alloc-coherent`. */
export function renderCoherent(r: CoherentResult, dev: string, fmt: Fmt): string[] {
  return [
    `coherent ${fmt.size(r.size)} for ${dev}: phys ${fmt.num(r.phys)}, bus ${fmt.num(r.bus)}` +
    (r.exchanged ? ` (${fmt.yellow("exchanged")})` : ""),
    `  ${coherentWords(r.route)}`,
    "  " + next(fmt, `free-coherent ${dev} ${fmt.num(r.bus)} ${sizeArg(r.size)}`, "tree"),
  ];
}
