/**
 * Text and JSON views of the DMA-API debug layer (SPEC §8): `debug` with no arguments
 * lists the live mappings, the reports so far and the count per kind. Everything comes
 * from {@link DebugReportView}; nothing is derived here beyond joining.
 *
 * @module
 */

import { directionName, directionShort } from "../../direction.ts";
import type { DebugMapping, DebugReportView } from "../../dma/debug.ts";
import type { Fmt } from "./format.ts";
import { plural } from "./format.ts";

/** One live mapping as `debug --json` shows it. */
export function debugMappingJson(e: DebugMapping): Record<string, unknown> {
  return {
    id: e.id,
    device: e.device,
    type: e.type,
    phys: e.phys,
    bus: e.bus,
    size: e.size,
    dir: directionShort(e.dir),
    sg_count: e.sgCount,
    map_error_checked: e.mapErrorChecked,
    slot: e.slot,
    nslots: e.nslots,
    call: e.call,
  };
}

/** `debug --json`: {"enabled","live":[…],"reports":[…],"counts":{…}}. */
export function debugJson(v: DebugReportView): Record<string, unknown> {
  return {
    enabled: v.enabled,
    live: v.live.map(debugMappingJson),
    reports: v.reports.map((r) => ({
      kind: r.kind,
      device: r.device,
      call: r.call,
      message: r.message,
    })),
    counts: v.counts,
    entries: { total: v.entries.total, free: v.entries.free, min_free: v.entries.minFree },
    out_of_memory: v.outOfMemory,
  };
}

function mappingLine(e: DebugMapping, fmt: Fmt): string {
  const slots = e.slot === null
    ? ""
    : e.nslots === 1
    ? `, slot ${e.slot}`
    : `, slots ${e.slot}-${e.slot + e.nslots - 1}`;
  const sg = e.type === "sg" ? ` (nents ${e.sgCount})` : "";
  const checked = e.mapErrorChecked === null
    ? ""
    : e.mapErrorChecked
    ? ", map error checked"
    : ", " + fmt.yellow("map error not checked");
  return `  #${e.id} ${fmt.bold(e.device)} ${e.type}${sg}: bus ${fmt.num(e.bus)} +${
    fmt.size(e.size)
  }, phys ${fmt.num(e.phys)}, ${directionName(e.dir)}${slots}${checked} — '${e.call}'`;
}

/** `debug`: live mappings, reports, counts. */
export function renderDebug(v: DebugReportView, fmt: Fmt): string[] {
  const total = Object.values(v.counts).reduce((a, b) => a + b, 0);
  const out = [
    `DMA-API debug ${v.enabled ? fmt.green("on") : fmt.yellow("off")}: ${
      plural(v.live.length, "live mapping")
    }, ${plural(total, "report")}`,
  ];
  if (v.outOfMemory) {
    out.push(
      `  it switched itself off: all ${v.entries.total} of its entries were in use ` +
        `(${
          fmt.yellow("DMA-API: debugging out of memory - disabling")
        }); the records it holds stay`,
    );
  }
  if (!v.enabled) out.push("  (switch it on with 'debug on'; it then tracks new mappings only)");
  if (v.live.length > 0) {
    out.push("live mappings (oldest first):");
    for (const e of v.live) out.push(mappingLine(e, fmt));
  }
  if (v.reports.length > 0) {
    out.push(
      "reports (oldest first" + (v.dropped > 0 ? `; ${v.dropped} older ones not kept` : "") +
        "):",
    );
    for (const r of v.reports) out.push("  " + fmt.yellow(r.message));
  }
  const kinds = Object.entries(v.counts).filter(([, n]) => n > 0);
  if (kinds.length > 0) out.push("counts: " + kinds.map(([k, n]) => `${k} ${n}`).join(", "));
  // Counted, never listed: the reports the layer held back (said once per device, or past
  // 'debug errors N').
  const unlisted = total - v.reports.length - v.dropped;
  if (unlisted > 0) {
    out.push(
      `  (${unlisted} counted but not printed: 'failed to check map error' is printed once ` +
        "per device, and 'debug filter' / 'debug errors N' hold reports back)",
    );
  }
  return out;
}
