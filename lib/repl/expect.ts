/**
 * `expect …`: the assertions that make scripts self-checking (SPEC §10). Each checks
 * the previous command's result (or the guest) and says what was expected and what
 * was found.
 *
 * @module
 */

import { jsonReplacer } from "../addr.ts";
import { LabError } from "../errors.ts";
import { parseAddrArg, parseBytes, parseNum } from "./args.ts";
import { ADDRESS_FIELDS, toColonHex } from "./render/format.ts";
import { problemLine } from "./render/tree.ts";
import type { LastCommand, Session } from "./session.ts";

/** The outcome of one expectation. */
export interface ExpectOutcome {
  ok: boolean;
  expected: string;
  actual: string;
}

/** The expectation keywords, for help and completion. */
export const EXPECT_FORMS: readonly string[] = [
  "bounced",
  "not bounced",
  "bus ADDR",
  "phys ADDR",
  "copied N",
  'error "substring"',
  "ok",
  "found",
  "not found",
  "tree valid",
  "tree invalid",
  "bytes NAME OFF HEX",
  "segment N|none",
  "slot N|none",
  "init ok|failed",
  'log "substring"',
  "swiotlb-xen on|off",
  "stat NAME N",
  "field KEY VALUE",
  "segments aligned|misaligned",
];

/** The first word of every form. */
export const EXPECT_KEYWORDS: readonly string[] = [
  ...new Set(EXPECT_FORMS.map((f) => f.split(" ")[0])),
];

function previous(s: Session): LastCommand {
  if (!s.last) throw new LabError("Nothing to check: no command has run yet");
  return s.last;
}

/** The previous command's result, refusing one that failed (unless that is the point). */
function result(s: Session): Record<string, unknown> {
  const last = previous(s);
  if (!last.ok) {
    throw new LabError(`The previous command (${last.verb}) failed: ${last.error}`);
  }
  return last.json;
}

/** A value as `expect` shows it: addresses in the session's radix, counts in decimal. */
function show(s: Session, key: string, v: unknown): string {
  if (typeof v === "number" || typeof v === "bigint") {
    return ADDRESS_FIELDS.has(key) ? s.fmt.num(v) : v.toString(10);
  }
  if (v === null || v === undefined) return "none";
  return typeof v === "string" ? v : JSON.stringify(v, jsonReplacer);
}

/** Compares a field of the previous result with a number (or `none`). */
function field(s: Session, key: string, text: string | undefined): ExpectOutcome {
  if (text === undefined) throw new LabError(`expect ${key} needs a value`);
  const json = result(s);
  if (!(key in json)) {
    throw new LabError(`The previous command (${previous(s).verb}) has no "${key}" to check`);
  }
  const actual = json[key];
  const want = text === "none" || text === "null" ? null : parseAddrArg(text, s.vars, key);
  return {
    ok: actual === want,
    expected: `${key} ${show(s, key, want)}`,
    actual: `${key} ${show(s, key, actual)}`,
  };
}

function words(args: string[], n: number, form: string): void {
  if (args.length !== n) throw new LabError(`Expected 'expect ${form}'`);
}

/** Runs one expectation; throws a usage error for a malformed one. */
export function checkExpectation(
  s: Session,
  args: string[],
  quoted: ReadonlySet<string>,
): ExpectOutcome {
  const [kind, ...rest] = args;
  const joined = rest.join(" ");
  switch (kind) {
    case "bounced": {
      words(rest, 0, "bounced");
      const b = result(s).bounced;
      return {
        ok: b === true,
        expected: "bounced",
        actual: b === true ? "bounced" : "not bounced",
      };
    }
    case "not": {
      if (joined === "bounced") {
        const b = result(s).bounced;
        return { ok: b === false, expected: "not bounced", actual: b ? "bounced" : "not bounced" };
      }
      if (joined === "found") {
        const f = result(s).found;
        return { ok: f === false, expected: "not found", actual: f ? "found" : "not found" };
      }
      throw new LabError("Expected 'expect not bounced' or 'expect not found'");
    }
    case "found": {
      words(rest, 0, "found");
      const f = result(s).found;
      return { ok: f === true, expected: "found", actual: f ? "found" : "not found" };
    }
    case "ok": {
      words(rest, 0, "ok");
      const last = previous(s);
      return {
        ok: last.ok,
        expected: "the previous command to succeed",
        actual: last.ok ? "it succeeded" : `it failed: ${last.error}`,
      };
    }
    case "bus":
    case "phys":
    case "copied":
    case "segment":
    case "slot":
      words(rest, 1, `${kind} VALUE`);
      return field(s, kind, rest[0]);
    case "field": {
      words(rest, 2, "field KEY VALUE");
      const [key, v] = rest;
      const json = result(s);
      if (!(key in json)) {
        throw new LabError(`The previous command (${previous(s).verb}) has no "${key}" to check`);
      }
      const actual = json[key];
      // The value is read as the kind of thing the field holds.
      const want = typeof actual === "number" || typeof actual === "bigint"
        ? parseAddrArg(v, s.vars, key)
        : typeof actual === "boolean"
        ? v === "true"
        : actual === null
        ? (v === "null" || v === "none" ? null : v)
        : v;
      return {
        ok: actual === want,
        expected: `${key} ${show(s, key, want)}`,
        actual: `${key} ${show(s, key, actual)}`,
      };
    }
    case "segments": {
      words(rest, 1, "segments aligned|misaligned");
      if (rest[0] !== "aligned" && rest[0] !== "misaligned") {
        throw new LabError("Expected 'expect segments aligned' or 'expect segments misaligned'");
      }
      const v = s.requireGuest().segments();
      const bad = v.misaligned;
      return {
        ok: (bad.length === 0) === (rest[0] === "aligned"),
        expected: `segments ${rest[0]}`,
        actual: bad.length === 0
          ? `all ${v.rows.length} bus bases aligned to the segment size`
          : `segment(s) ${bad.slice(0, 8).join(", ")} misaligned`,
      };
    }
    case "error": {
      const last = previous(s);
      const want = rest.join(" ");
      if (last.ok) {
        return {
          ok: false,
          expected: `an error${want ? ` containing "${want}"` : ""}`,
          actual: `${last.verb} succeeded`,
        };
      }
      const hit = (last.error ?? "").includes(want) ||
        last.text.some((l) => l.includes(want));
      if (hit) last.errorExpected = true;
      return {
        ok: hit,
        expected: `an error containing "${want}"`,
        actual: `error: ${last.error}`,
      };
    }
    case "tree": {
      words(rest, 1, "tree valid|invalid");
      if (rest[0] !== "valid" && rest[0] !== "invalid") {
        throw new LabError("Expected 'expect tree valid' or 'expect tree invalid'");
      }
      const problems = s.requireGuest().tree().problems;
      const valid = problems.length === 0;
      return {
        ok: valid === (rest[0] === "valid"),
        expected: `tree ${rest[0]}`,
        actual: valid ? "tree valid" : `tree invalid: ${problemLine(problems[0], s.fmt)}`,
      };
    }
    case "bytes": {
      words(rest, 3, "bytes NAME OFF HEX");
      const [name, off, hex] = rest;
      const want = parseBytes(hex, quoted.has(hex));
      const got = s.requireGuest().readBuffer(name, parseNum(off, s.vars, "offset"), want.length);
      const same = got.every((b, i) => b === want[i]);
      return {
        ok: same,
        expected: `${name}+${off}: ${toColonHex(want, 32)}`,
        actual: `${name}+${off}: ${toColonHex(got, 32)}`,
      };
    }
    case "init": {
      words(rest, 1, "init ok|failed");
      if (rest[0] !== "ok" && rest[0] !== "failed") {
        throw new LabError("Expected 'expect init ok' or 'expect init failed'");
      }
      const g = s.requireGuest();
      return {
        ok: g.init.ok === (rest[0] === "ok"),
        expected: `init ${rest[0]}`,
        actual: `init ${g.init.ok ? "ok" : "failed"}`,
      };
    }
    case "swiotlb-xen": {
      words(rest, 1, "swiotlb-xen on|off");
      if (rest[0] !== "on" && rest[0] !== "off") {
        throw new LabError("Expected 'expect swiotlb-xen on' or 'expect swiotlb-xen off'");
      }
      const on = s.requireGuest().init.swiotlbXen;
      return {
        ok: on === (rest[0] === "on"),
        expected: `swiotlb-xen ${rest[0]}`,
        actual: `swiotlb-xen ${on ? "on" : "off"}`,
      };
    }
    case "log": {
      if (joined === "") throw new LabError("Expected 'expect log \"substring\"'");
      const lines = [...(s.last?.text ?? []), ...(s.guest?.init.log ?? [])];
      const hit = lines.some((l) => l.includes(joined));
      return {
        ok: hit,
        expected: `a log line containing "${joined}"`,
        actual: hit ? "found it" : `not in the previous command's output or the init log`,
      };
    }
    case "stat": {
      words(rest, 2, "stat NAME N");
      const stats: Record<string, number> = { ...s.requireGuest().stats() };
      const [name, v] = rest;
      if (!Object.hasOwn(stats, name)) {
        throw new LabError(`No counter "${name}": counters are ${Object.keys(stats).join(", ")}`);
      }
      const want = parseNum(v, s.vars, name);
      return {
        ok: stats[name] === want,
        expected: `${name} = ${want}`,
        actual: `${name} = ${stats[name]}`,
      };
    }
    default:
      throw new LabError(
        `Unknown expectation "${kind ?? ""}": expect ${EXPECT_FORMS.join(" | ")}`,
      );
  }
}
