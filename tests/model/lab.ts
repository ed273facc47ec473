/**
 * The bench the model-based tests run on: every guest mode of SPEC §12 in a small size,
 * the same three devices and three buffers in each, built by running REPL lines so
 * that a printed script starts from exactly the state the test started from.
 *
 * Everything a failing run did is kept as REPL lines (SPEC §10), so a counterexample
 * is a script the user can `source`.
 *
 * @module
 */

import { Buffer as NodeBuffer } from "node:buffer";
import { type Direction, directionShort } from "../../lib/direction.ts";
import type { LabEvent } from "../../lib/events.ts";
import type { Guest } from "../../lib/guest/guest.ts";
import { type FileAccess, runLine, Session } from "../../lib/repl/mod.ts";

/** How a mode maps a buffer, as SPEC §5 and §7 say (used to predict `bounced`). */
export type ModeKind = "pv" | "auto" | "direct";

/** One guest mode under test. */
export interface ModeSpec {
  /** Test name. */
  name: string;
  /** The `guest new` flags before the common small-guest flags. */
  flags: string;
  /** `--swiotlb` slots (default 1024: 8 segments). */
  slots?: number;
  kind: ModeKind;
  /** swiotlb_force: every map bounces (SPEC §7). */
  force: boolean;
  arch: "x86" | "arm";
}

/** Small guests so that a run costs milliseconds: 64 MiB guest, 256 MiB machine. */
export const SMALL = "--mem 64M --machine 256M";

/** Every mode the DMA engine has (SPEC §12 presets that initialise, plus rfc-v1 and force). */
export const MODES: readonly ModeSpec[] = [
  { name: "pv-dom0", flags: "--preset pv-dom0", kind: "pv", force: false, arch: "x86" },
  {
    name: "pv-dom0 --force",
    flags: "--preset pv-dom0 --force",
    kind: "pv",
    force: true,
    arch: "x86",
  },
  {
    name: "pv-domu-passthrough",
    flags: "--preset pv-domu-passthrough",
    kind: "pv",
    force: false,
    arch: "x86",
  },
  { name: "arm-dom0", flags: "--preset arm-dom0", kind: "auto", force: false, arch: "arm" },
  {
    name: "arm-dom0 --variant rfc-v1",
    flags: "--preset arm-dom0 --variant rfc-v1",
    kind: "auto",
    force: false,
    arch: "arm",
  },
  {
    name: "arm-dom0-smmu",
    flags: "--preset arm-dom0-smmu",
    kind: "direct",
    force: false,
    arch: "arm",
  },
  {
    name: "pvh-dom0-iommu",
    flags: "--preset pvh-dom0-iommu",
    kind: "direct",
    force: false,
    arch: "x86",
  },
];

/**
 * One segment only, so that four live 64 KiB mappings fill the pool: "swiotlb buffer is
 * full", wrap-around and the merging of freed runs get exercised (SPEC §3).
 */
export const PRESSURE_MODES: readonly ModeSpec[] = [
  {
    name: "arm-dom0, 128 slots",
    flags: "--preset arm-dom0",
    slots: 128,
    kind: "auto",
    force: false,
    arch: "arm",
  },
  {
    name: "pv-dom0 --force, 128 slots",
    flags: "--preset pv-dom0 --force",
    slots: 128,
    kind: "pv",
    force: true,
    arch: "x86",
  },
];

/** A device of the bench. */
export interface DevSpec {
  name: string;
  maskBits: number;
  /** Segment boundary mask (SPEC §3 step 2), undefined for the default 0xffffffff. */
  boundary: number | undefined;
}

/**
 * `nic` reaches everything; `low` (4 MiB) makes PV guests and the direct modes bounce
 * buffers above 4 MiB while the pool stays reachable; `bnd` has a 128 KiB segment
 * boundary, so the core's boundary skip (SPEC §3 step 4) is exercised.
 */
export const DEVICES: readonly DevSpec[] = [
  { name: "nic", maskBits: 64, boundary: undefined },
  { name: "low", maskBits: 22, boundary: undefined },
  { name: "bnd", maskBits: 32, boundary: 0x1ffff },
];

/** A buffer of the bench. */
export interface BufSpec {
  name: string;
  size: number;
  /** `--align`, undefined for kmalloc alignment. */
  align: number | undefined;
}

/**
 * `b0` is small and sits below 4 MiB; `pad` pushes the others above 4 MiB; `b1` spans
 * two pages; `b2` is unaligned and spans 18 pages, room for the largest (64 KiB) map.
 */
export const BUFFERS: readonly BufSpec[] = [
  { name: "b0", size: 300, align: undefined },
  { name: "b1", size: 8192, align: undefined },
  { name: "b2", size: 70000, align: 64 },
];
const PAD = "buf alloc pad 2M";

/** The largest single mapping the tests make: one 64 KiB max segment (SPEC §2). */
export const MAX_MAP = 65536;

/** Formats an address the way the REPL reads it. */
export function hex(n: number | bigint): string {
  return "0x" + n.toString(16);
}

/** Bytes as plain hex (what `--pattern` and `expect field bytes` take). */
export function hexBytes(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/** `--pattern P` over `len` bytes (the REPL's fill rule, SPEC §10). */
export function fill(pattern: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(len);
  out.set(pattern.subarray(0, len));
  // Doubling copies: the same bytes as out[i] = pattern[i % n], in O(log len) calls.
  for (let have = pattern.length; have < len; have *= 2) out.copyWithin(have, 0, have);
  return out;
}

/** The first index where two byte arrays differ, or -1 (memcmp first, then a scan). */
export function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length === b.length && nodeBuf(a).equals(nodeBuf(b))) return -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

function nodeBuf(a: Uint8Array): NodeBuffer {
  return NodeBuffer.from(a.buffer, a.byteOffset, a.length);
}

/** `b1` or `b1+0x10`. */
export function bufRef(buf: number, off: number): string {
  return off === 0 ? BUFFERS[buf].name : `${BUFFERS[buf].name}+${hex(off)}`;
}

/** A scatterlist element as map-sg takes it: `BUF:OFF:LEN`. */
export function sgRef(buf: number, off: number, len: number): string {
  return `${BUFFERS[buf].name}:${hex(off)}:${len}`;
}

/** REPL direction word. */
export function dirWord(dir: Direction): string {
  return directionShort(dir);
}

/** No file access: the bench never touches the disk. */
const NO_FILES: FileAccess = {
  readText: (p) => {
    throw new Error(`the model bench reads no files (${p})`);
  },
  writeText: (p) => {
    throw new Error(`the model bench writes no files (${p})`);
  },
  appendText: (p) => {
    throw new Error(`the model bench writes no files (${p})`);
  },
  exists: () => false,
  stat: (p) => {
    throw new Error(`the model bench reads no files (${p})`);
  },
};

/** A fresh in-process REPL session (JSON output: nothing is printed). */
export function newSession(): Session {
  return new Session({ json: true, cwd: "/", files: NO_FILES });
}

/** The initial CPU contents of buffer `i` for a seed: an odd-length pattern, never periodic in 2^k. */
export function initialPattern(seed: number, i: number): Uint8Array {
  const x = (seed * 2654435761 + i * 40503) >>> 0;
  return Uint8Array.of(x & 0xff, (x >>> 8) & 0xff, ((x >>> 16) & 0xff) | 1);
}

/** The REPL lines that build the bench for a mode and a layout seed. */
export function headerLines(mode: ModeSpec, seed: number): string[] {
  const lines = [
    `guest new ${mode.flags} ${SMALL} --swiotlb ${mode.slots ?? 1024} --seed ${seed}`,
  ];
  for (const d of DEVICES) {
    lines.push(
      `device add ${d.name} --mask ${d.maskBits}` +
        (d.boundary === undefined ? "" : ` --boundary ${hex(d.boundary)}`),
    );
  }
  BUFFERS.forEach((b, i) => {
    lines.push(`buf alloc ${b.name} ${b.size}` + (b.align ? ` --align ${b.align}` : ""));
    if (i === 0) lines.push(PAD);
  });
  BUFFERS.forEach((b, i) => {
    lines.push(`buf write ${b.name} --pattern ${hexBytes(initialPattern(seed, i))}`);
  });
  return lines;
}

/** The system under test: a REPL session's guest, and what the header set up. */
export interface Real {
  mode: ModeSpec;
  session: Session;
  g: Guest;
  header: string[];
  /** Guest-physical address of each buffer. */
  bufPhys: number[];
  poolPhys: number;
  nslabs: number;
  /**
   * Slot i's bus address is `bus(slot 0) + i * 2048` across the whole pool, so the
   * core's boundary arithmetic (which assumes it) is exact (SPEC §7 "At 0?").
   */
  linearBus: boolean;
  /** REPL lines added after the commands: teardown, and the expectation that failed. */
  tail: string[];
  /** Events drained early by a command, still to be checked by the invariants. */
  pending: LabEvent[];
}

/** Runs the header through the REPL and returns the bench; throws if a line fails. */
export function setupReal(mode: ModeSpec, seed: number): Real {
  const header = headerLines(mode, seed);
  const session = newSession();
  for (const line of header) {
    const r = runLine(session, line);
    if (!r.ok) throw new Error(`bench setup failed at "${line}": ${r.error}`);
  }
  const g = session.guest;
  if (!g) throw new Error("bench setup: no guest");
  if (!g.init.ok) throw new Error(`bench setup: init failed (${g.init.log.join("; ")})`);
  g.events.drain();
  const segs = g.segments().rows;
  const linearBus = segs.length === 0 ||
    segs.every((s, j) => s.dmaAddr === segs[0].dmaAddr + j * 128 * 2048);
  return {
    mode,
    session,
    g,
    header,
    bufPhys: BUFFERS.map((b) => g.buffer(b.name).phys),
    poolPhys: g.init.poolPhys,
    nslabs: g.init.nslabs,
    linearBus,
    tail: [],
    pending: [],
  };
}

/** The script a failing run leaves: header, the commands that ran, the tail. */
export function printScript(header: readonly string[], commandLines: Iterable<string>): string {
  const body: string[] = [];
  for (const l of commandLines) if (l !== "") body.push(l);
  return [
    "# swiotlb-lab model-test counterexample: `source` this file in the REPL",
    ...header,
    ...body,
  ].join("\n") + "\n";
}

/** dma_capable (SPEC §7) for a mask width, as the bench's devices use it. */
export function capable(arch: "x86" | "arm", maskBits: number, addr: number, size: number) {
  const mask = maskBits >= 64 ? 2 ** 64 : 2 ** maskBits - 1;
  const last = addr + size - 1;
  return arch === "x86" ? last <= mask : addr <= mask && last <= mask;
}
