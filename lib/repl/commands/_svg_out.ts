/**
 * `--svg FILE` for the inspection verbs (issue 12): write a drawing and say so. The
 * drawing uses the session's radix, never colours (the file is for slides and reviews).
 *
 * @module
 */

import { Fmt } from "../render/format.ts";
import type { Session } from "../session.ts";

/** The `--svg <file>` option, as each drawing verb declares it. */
export const SVG_OPTION = {
  flags: "--svg <file>",
  help: "also write the drawing as SVG (for slides, reviews, the report)",
  complete: "file",
} as const;

/** A colourless formatter in the session's radix, for drawings. */
export function drawingFmt(s: Session): Fmt {
  return new Fmt(s.fmt.radix, false);
}

/**
 * Writes `draw()` to `file` when the option was given; returns the text line and sets
 * `json.svg`. `draw` runs only then (a 256-node tree is not drawn for nothing).
 */
export function writeSvg(
  s: Session,
  file: unknown,
  what: string,
  draw: (fmt: Fmt) => string,
  json: Record<string, unknown>,
): string[] {
  if (typeof file !== "string") return [];
  const svg = draw(drawingFmt(s));
  s.writeOutput(file, svg, "--svg");
  json.svg = file;
  return [`wrote ${what} as SVG to ${file} (open it in a browser)`];
}
