/**
 * The swiotlb core of Linux 3.11 (SPEC §3), usable on its own.
 *
 * @module
 */
export { SwiotlbCore } from "./core.ts";
export * from "./types.ts";
