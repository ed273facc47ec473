/**
 * Numbers as the REPL reads them (issue 13): crash-style input radix, `+ - *` with sizes
 * and variables, clear errors for anything else, and negative words that are not options.
 */

import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import fc from "fast-check";
import { ALL_ONES } from "../mod.ts";
import { evalExpr, evalWhole, VarTable } from "../lib/repl/expr.ts";
import { runLine, Session } from "../lib/repl/mod.ts";

Deno.test("evalExpr: radix 10 by default, 16 after set radix 16; prefixes always win", () => {
  const v = new VarTable();
  assertEquals(evalExpr("100000", v), 100000);
  assertEquals(evalExpr("0x100000", v), 0x100000);
  v.inputRadix = 16;
  assertEquals(evalExpr("100000", v), 0x100000);
  assertEquals(evalExpr("ffff0000", v), 0xffff0000);
  assertEquals(evalExpr("0d4096", v), 4096);
  assertEquals(evalExpr("10#4096", v), 4096);
  assertEquals(evalExpr("16#10", v), 16);
  // Sizes keep their units in both radixes; in radix 16 "1b" is a hex number.
  assertEquals(evalExpr("4K", v), 4096);
  assertEquals(evalExpr("1b", v), 0x1b);
  assertEquals(evalExpr("0xffffffffffffffff", v), ALL_ONES);
});

Deno.test("evalExpr: + - * and parentheses with the usual precedence, over sizes and $vars", () => {
  const v = new VarTable([["b", 0x100000], ["i", 3], ["bus", 0x7f840000]]);
  assertEquals(evalExpr("$b+$i*4K", v), 0x103000);
  assertEquals(evalExpr("$bus-0x10", v), 0x7f83fff0);
  assertEquals(evalExpr("(1+2)*2K", v), 6144);
  assertEquals(evalExpr("2*3+4", v), 10);
  // A differential check against BigInt arithmetic on random a + b * c - d.
  fc.assert(fc.property(
    fc.nat({ max: 2 ** 30 }),
    fc.nat({ max: 2 ** 10 }),
    fc.nat({ max: 2 ** 10 }),
    fc.nat({ max: 2 ** 20 }),
    (a, b, c, d) => {
      const want = a + b * c - d;
      const text = `0x${a.toString(16)}+${b}*${c}-${d}`;
      if (want < 0) {
        assertThrows(() => evalExpr(text, v), Error, "negative");
      } else {
        assertEquals(evalExpr(text, v), want);
      }
    },
  ));
});

Deno.test("evalExpr: clear errors for what is not arithmetic", () => {
  const v = new VarTable([["bus", 0x1000]]);
  const cases: [string, string][] = [
    ["$bus/2", "unexpected '/'"],
    ["$bus+", "it ends in the middle"],
    ["(1+2", "'(' is not closed"],
    ["$nope", "$nope is not set (set: $bus)"],
    ["0x1000-0x2000", "the result is negative"],
    ["0x10000000000000", "over 2^52"],
    ["0xffffffffffffffff+1", "cannot be added to"],
    ["0xzz", "'0xzz' is not a hex number"],
    ["1.5", "expected a number"],
  ];
  for (const [text, why] of cases) {
    const e = assertThrows(() => evalExpr(text, v));
    assertStringIncludes((e as Error).message, why, text);
  }
});

Deno.test("REPL: set radix 16 reads bare addresses as hex; -4K is a negative number, not an option", () => {
  const s = new Session({ json: true });
  runLine(s, "guest new --preset arm-dom0 --swiotlb 1M");
  const dec = JSON.parse(runLine(s, "lookup bus 1050624").output[0]);
  runLine(s, "set radix 16");
  const hex = JSON.parse(runLine(s, "lookup bus 100800").output[0]);
  assertEquals([dec.phys, hex.phys], [0x180100800, 0x180100800]);
  // Counts stay decimal: slots 2 is segment 2, whatever the radix.
  assertEquals(JSON.parse(runLine(s, "slots 2").output[0]).segment, 2);
  const neg = runLine(s, "buf alloc rx -4K");
  assertStringIncludes(neg.error!, "'-4K' is negative");
  runLine(s, "buf alloc rx 2000");
  assertEquals(s.guest!.buffer("rx").size, 0x2000);
  // A buffer's name wins over a hex word; an unknown hex word is an address.
  runLine(s, "device add nic --mask 32");
  assertEquals(JSON.parse(runLine(s, "map nic rx 1000 to").output[0]).bounced, true);
});

Deno.test("REPL: dma write --pattern with --len or a positional length; commander's words replaced", () => {
  const s = new Session({ json: true });
  for (
    const l of [
      "guest new --preset arm-dom0 --swiotlb 1M",
      "device add nic --mask 32",
      "buf alloc rx 8K",
      "map nic rx 8K bidi",
    ]
  ) {
    runLine(s, l);
  }
  assertEquals(
    JSON.parse(runLine(s, "dma write nic $bus --pattern a5 --len 16").output[0]).written,
    16,
  );
  assertEquals(JSON.parse(runLine(s, "dma write nic $bus 32 --pattern a5").output[0]).written, 32);
  const bad = runLine(s, "set radix 8");
  assertEquals(bad.error, 'Cannot set radix to "8": say 16 or 10');
});

Deno.test("evalExpr's shortcuts (a lone $var, words read before) answer as the whole parse", () => {
  const word = fc.oneof(
    fc.constantFrom(
      "4K",
      "1b",
      "0x1000",
      "ffff",
      "16#10",
      "0d99",
      "2M",
      "1.5K",
      "4Q",
      "",
      " 4K",
      "-1",
      "$bus",
      "$nope",
      "$big",
      "$frac",
      "$neg",
      "$ones",
      "$bus+1",
      "$zero",
      "0xffffffffffffffff",
    ),
    fc.string({ maxLength: 6 }),
  );
  const vars = new VarTable([
    ["bus", 0x7f840000],
    ["big", 2 ** 52],
    ["frac", 1.5],
    ["neg", -4],
    ["ones", ALL_ONES],
    ["zero", -0],
  ]);
  const outcome = (f: () => unknown) => {
    try {
      return { value: f() };
    } catch (e) {
      return { error: String(e) };
    }
  };
  fc.assert(
    fc.property(fc.array(fc.tuple(word, fc.boolean()), { maxLength: 20 }), (words) => {
      for (const [w, hex] of words) {
        vars.inputRadix = hex ? 16 : 10;
        const whole = outcome(() => evalWhole(w, vars, "size", vars.inputRadix));
        assertEquals(outcome(() => evalExpr(w, vars, "size")), whole, JSON.stringify(w));
        // Read again, from the table of words seen.
        assertEquals(outcome(() => evalExpr(w, vars, "size")), whole, JSON.stringify(w));
      }
    }),
    { numRuns: 2000 },
  );
  assertEquals(Object.is(evalExpr("$zero", vars), 0), true, "-0 reads as 0");
});
