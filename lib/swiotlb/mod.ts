/**
 * The swiotlb core of Linux 3.11 (SPEC §3), usable on its own.
 *
 * @module
 */
export {
  DEFAULT_SEG_BOUNDARY,
  type LiveMapping,
  MAP_ERROR,
  type MapOutcome,
  type MapSingleArgs,
  type Policy,
  slotsFor,
  SwiotlbCore,
  type SwiotlbCoreOptions,
  type SwiotlbStats,
  type SyncTarget,
} from "./core.ts";
