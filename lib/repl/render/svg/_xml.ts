/**
 * The few XML helpers the SVG and HTML renderers share: escaping and element strings.
 * Layout comes from libraries (d3-hierarchy) or from the views' own numbers; this file
 * only spells elements.
 *
 * @module
 */

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Text or an attribute value, escaped for XML and HTML.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { esc } from "./_xml.ts";
 * assertEquals(esc(`a<b & "c"`), "a&lt;b &amp; &quot;c&quot;");
 * ```
 */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Attribute values: numbers are rounded to 0.1 px so drawings stay small and stable. */
export type Attrs = Record<string, string | number | undefined>;

function attrText(attrs: Attrs): string {
  let out = "";
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    const value = typeof v === "number" ? String(Math.round(v * 10) / 10) : v;
    out += ` ${k}="${esc(value)}"`;
  }
  return out;
}

/**
 * One element; `body` is already markup (use {@link esc} for text).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { el } from "./_xml.ts";
 * assertEquals(el("rect", { x: 1.25, width: 4 }), '<rect x="1.3" width="4"/>');
 * assertEquals(el("text", { x: 0 }, "a&amp;b"), '<text x="0">a&amp;b</text>');
 * ```
 */
export function el(name: string, attrs: Attrs, body?: string): string {
  return body === undefined
    ? `<${name}${attrText(attrs)}/>`
    : `<${name}${attrText(attrs)}>${body}</${name}>`;
}

/** A `<title>` child: the tooltip a browser shows on hover. */
export function title(text: string): string {
  return `<title>${esc(text)}</title>`;
}

/**
 * Prefixes every rule of a style sheet with `.scope`, so drawings inlined in one HTML page
 * (the report) keep their own rules.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { scopeStyle } from "./_xml.ts";
 * assertEquals(scopeStyle(".a rect,.b{fill:red}.c{x:1}", "t"), ".t .a rect,.t .b{fill:red}.t .c{x:1}");
 * ```
 */
export function scopeStyle(style: string, scope: string): string {
  return style.replace(
    /([^{}]+)\{([^}]*)\}/g,
    (_, sel: string, body: string) =>
      sel.split(",").map((x) => `.${scope} ${x.trim()}`).join(",") + `{${body}}`,
  );
}

/**
 * `svg` with each id it defines (a pattern, a marker) prefixed by `prefix`, and every
 * `url(#…)` and `href="#…"` that names one following it: drawings inlined in one HTML
 * page (the report) must not repeat an id, or a later drawing would use the first one's
 * pattern. A standalone drawing keeps its own ids.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { prefixIds } from "./_xml.ts";
 * const svg = '<svg><style>.o{fill:url(#h)}</style><pattern id="h"/><use href="#h"/></svg>';
 * assertEquals(
 *   prefixIds(svg, "s1-"),
 *   '<svg><style>.o{fill:url(#s1-h)}</style><pattern id="s1-h"/><use href="#s1-h"/></svg>',
 * );
 * ```
 */
export function prefixIds(svg: string, prefix: string): string {
  const ids = new Set(Array.from(svg.matchAll(/\sid="([^"]+)"/g), (m) => m[1]));
  if (ids.size === 0) return svg;
  return svg.replace(
    /(\sid="|url\(#|\shref="#)([^")]+)/g,
    (m, head: string, id: string) => ids.has(id) ? head + prefix + id : m,
  );
}

/**
 * A whole SVG document of `width` × `height` px, with a title and a style sheet scoped to
 * the class `swl-KIND` (tree, segments, slots, fixup).
 */
export function svgDoc(
  kind: string,
  width: number,
  height: number,
  heading: string,
  style: string,
  body: string[],
): string {
  const w = Math.ceil(width);
  const h = Math.ceil(height);
  const scope = `swl-${kind}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="${scope}" width="${w}" height="${h}" ` +
    `viewBox="0 0 ${w} ${h}" font-family="ui-monospace, Menlo, Consolas, monospace" ` +
    `font-size="11">`,
    title(heading),
    `<style>${scopeStyle(style, scope)}</style>`,
    ...body,
    "</svg>",
  ].join("\n") + "\n";
}
