/**
 * Named guests (issue 13): `guest new … --name NAME` keeps several guests in one session,
 * `guest use NAME` makes one current (commands act on it; its `$` variables come back
 * with it), `guest list` shows them, `guest drop NAME` forgets one. Replacing or dropping
 * a guest that still holds mappings says what goes with it.
 *
 * @module
 */

import { LabError } from "../../errors.ts";
import type { Guest } from "../../guest/mod.ts";
import { type Fmt, plural } from "../render/format.ts";
import { didYouMean } from "../suggest.ts";
import type { CommandSpec } from "../table.ts";
import type { Session } from "../session.ts";

/** A guest name: a word a user can type and complete. */
export function checkGuestName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/.test(name)) {
    throw new LabError(
      `Bad guest name '${name.slice(0, 40)}': a letter, then letters, digits, _ . - (at most 32)`,
      "usage",
    );
  }
  return name;
}

/**
 * What a guest still holds: live mappings (per device) and bounce slots in use. The
 * mappings are the debug layer's records; `live` is null when the layer has not seen
 * them all (off, or switched off since the guest was built).
 */
function holdings(g: Guest): { live: number | null; perDevice: string; slots: number } {
  const d = g.debugReport();
  const per = new Map<string, number>();
  for (const m of d.live) per.set(m.device, (per.get(m.device) ?? 0) + 1);
  return {
    live: d.seenAll ? d.live.length : null,
    perDevice: d.seenAll ? [...per].map(([dev, n]) => `${dev}: ${n}`).join(", ") : "",
    slots: g.stats().slots_used,
  };
}

/** "2 live mappings (nic: 2)", or why they are not known. */
function liveWords(h: { live: number | null; perDevice: string }): string {
  if (h.live === null) return "live mappings not known (the debug layer was off)";
  return `${plural(h.live, "live mapping")}${h.perDevice ? ` (${h.perDevice})` : ""}`;
}

/** The note when `guest new` (or drop) lets go of a guest that still holds mappings. */
export function replacedWords(name: string, old: Guest, _fmt: Fmt, verb = "replaced"): string[] {
  const h = holdings(old);
  if (h.live === 0 && h.slots === 0) return [`  (${verb} guest '${name}', which held no mappings)`];
  return [
    `  ${verb} guest '${name}' (${old.config.name}), and with it ${liveWords(h)}` +
    ` and ${plural(h.slots, "bounce slot")} in use`,
  ];
}

function lookupName(s: Session, name: string): string {
  if (s.guests.has(name)) return name;
  throw new LabError(
    `No guest called '${name.slice(0, 40)}'${didYouMean(name, [...s.guests.keys()])}` +
      (s.guests.size ? ` (guests: ${[...s.guests.keys()].join(", ")})` : " (no guests yet)"),
    "usage",
    "unknown-guest",
  );
}

const TWO = ["guest new --preset arm-dom0 --name arm", "guest new --preset pv-dom0 --name pv"];

/** guest use / list / drop. */
export const guestsCommands: CommandSpec[] = [
  {
    path: ["guest", "use"],
    summary: "make the guest called NAME current (commands act on it)",
    args: [{ name: "NAME", help: "a name given with guest new --name", complete: "guest" }],
    options: [],
    examples: [{ caption: "Back to the ARM guest", line: "guest use arm", setup: TWO }],
    run: (ctx, [name]) => {
      const s = ctx.session;
      const g = s.useGuest(lookupName(s, name));
      return {
        json: { guest: name, name: g.config.name },
        text: [`guest ${name} (${g.config.name}) is current`],
      };
    },
  },
  {
    path: ["guest", "list"],
    summary: "the session's guests: name, kind, mappings, slots in use; * marks the current",
    args: [],
    options: [],
    examples: [{ caption: "Two guests side by side", line: "guest list", setup: TWO }],
    run: (ctx) => {
      const s = ctx.session;
      const rows = [...s.guests].map(([name, g]) => {
        const h = holdings(g);
        const v = g.view();
        return {
          name,
          current: g === s.guest,
          preset: g.config.name,
          mode: g.config.mode,
          arch: g.config.arch,
          iommu: g.config.iommu,
          ops: v.ops,
          live_mappings: h.live,
          slots_used: h.slots,
        };
      });
      const text = rows.length === 0
        ? ["no guests (guest new --preset arm-dom0 --name NAME)"]
        : rows.map((r) =>
          `${r.current ? "*" : " "} ${r.name.padEnd(12)} ${r.preset} (${r.arch}, ${r.mode}` +
          `${r.iommu ? ", IOMMU" : ""}), ${liveWords({ live: r.live_mappings, perDevice: "" })}, ` +
          `${plural(r.slots_used, "slot")} in use`
        );
      return { json: { guests: rows, current: s.guest ? s.guestName : null }, text };
    },
  },
  {
    path: ["guest", "drop"],
    summary: "forget the guest called NAME (say what mappings go with it)",
    args: [{ name: "NAME", help: "a guest's name", complete: "guest" }],
    options: [],
    examples: [{ caption: "Forget the PV guest", line: "guest drop pv", setup: TWO }],
    run: (ctx, [name]) => {
      const s = ctx.session;
      const g = s.dropGuest(lookupName(s, name));
      const text = replacedWords(name, g, s.fmt, "dropped");
      if (!s.guest) text.push("  no current guest now: guest use NAME or guest new");
      return { json: { dropped: name, current: s.guest ? s.guestName : null }, text };
    },
  },
];
