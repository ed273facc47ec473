/**
 * The swiotlb core of Linux 3.11 (SPEC §3), usable on its own.
 *
 * @module
 */
export { SwiotlbCore } from "./core.ts";
export {
  DEFAULT_SEG_BOUNDARY,
  type LiveMapping,
  MAP_ERROR,
  type MapOutcome,
  type MapSingleArgs,
  type Policy,
  slotsFor,
  type SwiotlbCoreOptions,
  type SwiotlbStats,
  type SyncTarget,
} from "./types.ts";
