/**
 * A whole guest and its views: what the REPL and the examples drive (SPEC §9–§12). The
 * REPL reaches the engine only through this module (DESIGN.md layering).
 *
 * @module
 */

export { type Buffer, Guest } from "./guest.ts";
export {
  DEFAULT_CONFIG,
  type FaultConfig,
  GUEST_FILE_MAX_BYTES,
  type GuestConfig,
  type GuestInput,
  type Layout,
  type Mode,
  parseGuestFile,
  parseSwiotlb,
  PRESETS,
  resolveConfig,
} from "./config.ts";
export { checkSetting, GUEST_FILE_KEYS, guestFileOf } from "./schema.ts";
export type * from "./views.ts";
export type * from "../explain.ts";
export type { Policy } from "../swiotlb/mod.ts";
export type { Variant } from "../swiotlb_xen/translate.ts";
export type { FixupSummary } from "../swiotlb_xen/init.ts";
