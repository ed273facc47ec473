/**
 * Parsing drawings and pages in tests: @xmldom/xmldom checks an SVG is well-formed XML
 * (it throws on a mismatched tag), linkedom answers CSS selectors on SVG and HTML.
 */

import { DOMParser as StrictParser } from "@xmldom/xmldom";
import { DOMParser } from "linkedom";

/** A parsed document that answers selectors. */
export interface Doc {
  querySelectorAll(selector: string): ArrayLike<DomElement>;
  querySelector(selector: string): DomElement | null;
}

/** The part of an element the tests read. */
export interface DomElement {
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
  querySelector(selector: string): DomElement | null;
  textContent: string | null;
  tagName: string;
  classList: { contains(c: string): boolean };
}

/** Parses SVG strictly (throws on malformed XML), then for selectors. */
export function parseSvg(svg: string): Doc {
  new StrictParser({
    onError: (level: string, msg: string) => {
      throw new Error(`malformed SVG (${level}): ${msg}`);
    },
  }).parseFromString(svg, "image/svg+xml");
  return new DOMParser().parseFromString(svg, "image/svg+xml") as unknown as Doc;
}

/** Parses an HTML page for selectors. */
export function parseHtml(html: string): Doc {
  return new DOMParser().parseFromString(html, "text/html") as unknown as Doc;
}

/** The elements matching `selector`, as an array. */
export function all(doc: Doc | DomElement, selector: string): DomElement[] {
  return Array.from(doc.querySelectorAll(selector));
}
