/**
 * JSON field names in snake_case, as SPEC §10's are (`dma_addr`, `pool_phys`, `mask_bits`):
 * the engine's views and reason codes name their fields in camelCase, as TypeScript does,
 * and an answer that carries one of them whole (a reason, a tree node, a guest's settings)
 * passes it through {@link snakeKeys} so no client meets two spellings.
 *
 * @module
 */

/** Names already converted: a replay converts the same few keys a million times. */
const CONVERTED = new Map<string, string>();

/**
 * `dmaAddr` → `dma_addr`; a name without capitals is returned as it is.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * assertEquals(["treeNode", "segmentSlots", "dma_addr", "code"].map(snakeKey),
 *   ["tree_node", "segment_slots", "dma_addr", "code"]);
 * ```
 */
export function snakeKey(k: string): string {
  let s = CONVERTED.get(k);
  if (s === undefined) {
    s = k.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
    CONVERTED.set(k, s);
  }
  return s;
}

/**
 * `v` with the keys of every plain object in it (arrays included) in snake_case; other
 * values (numbers, strings, bigints, null) as they are.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * assertEquals(snakeKeys({ code: "exchanged", treeNode: true, at: [{ dmaAddr: 1 }] }),
 *   { code: "exchanged", tree_node: true, at: [{ dma_addr: 1 }] });
 * ```
 */
export function snakeKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(snakeKeys);
  if (v === null || typeof v !== "object" || Object.getPrototypeOf(v) !== Object.prototype) {
    return v;
  }
  const out: Record<string, unknown> = {};
  for (const k in v) out[snakeKey(k)] = snakeKeys((v as Record<string, unknown>)[k]);
  return out;
}
