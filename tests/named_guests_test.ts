/**
 * Named guests (issue 13): guest new --name, guest use, guest list, guest drop; each
 * guest keeps its own state and `$` variables, and replacing or dropping one that holds
 * mappings says what goes with it.
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { runLine, Session } from "../lib/repl/mod.ts";

function run(s: Session, line: string) {
  const r = runLine(s, line);
  return { ...r, text: r.output.join("\n") };
}

Deno.test("named guests: commands act on the current one; each keeps its state and $vars", () => {
  const s = new Session();
  for (
    const l of [
      "guest new --preset arm-dom0 --name arm",
      "device add nic --mask 32",
      "buf alloc rx 8K",
    ]
  ) {
    assert(run(s, l).ok, l);
  }
  const armMap = run(s, "map nic rx 8K to");
  const armBus = armMap.json!.bus;
  assert(run(s, "guest new --preset pv-dom0 --name pv").ok);
  assertEquals(s.vars.get("bus"), undefined, "the new guest starts without $bus");
  assertEquals(run(s, "device list").json?.devices, []);
  assert(run(s, "guest use arm").ok);
  assertEquals(s.vars.get("bus"), armBus);
  assertEquals(run(s, "stats").json?.maps, 1);
  const list = run(s, "guest list").json!;
  assertEquals(list.current, "arm");
  assertEquals(
    (list.guests as { name: string; current: boolean; live_mappings: number }[]).map((g) => [
      g.name,
      g.current,
      g.live_mappings,
    ]),
    [["arm", true, 1], ["pv", false, 0]],
  );
});

Deno.test("named guests: replacing or dropping a guest with live mappings says what it drops", () => {
  const s = new Session();
  for (
    const l of [
      "guest new --preset arm-dom0 --name arm",
      "device add nic --mask 32",
      "buf alloc rx 8K",
      "map nic rx 8K to",
    ]
  ) {
    run(s, l);
  }
  const again = run(s, "guest new --preset arm-dom0 --name arm");
  assertStringIncludes(
    again.text,
    "replaced guest 'arm' (arm-dom0), and with it 1 live mapping (nic: 1) and 4 bounce slots in use",
  );
  run(s, "guest new --preset pv-dom0 --name pv");
  const drop = run(s, "guest drop pv");
  assertStringIncludes(drop.text, "dropped guest 'pv'");
  assertStringIncludes(drop.text, "no current guest now");
  assertStringIncludes(run(s, "stats").error!, "No guest yet");
  const bad = run(s, "guest use ar");
  assertStringIncludes(bad.error!, "No guest called 'ar' — did you mean 'arm'?");
  assertEquals(bad.json?.code, "unknown-guest");
  assertStringIncludes(run(s, "guest new --preset arm-dom0 --name 'a b'").error!, "Bad guest name");
});

Deno.test("named guests: without --name, guest new replaces the current guest", () => {
  const s = new Session();
  run(s, "guest new --preset arm-dom0");
  run(s, "guest new --preset pv-dom0");
  assertEquals([...s.guests.keys()], ["main"]);
  assertEquals(s.guest?.config.name, "pv-dom0");
});

Deno.test("named guests: after the current guest is dropped, a plain guest new takes a free name", () => {
  const s = new Session();
  run(s, "guest new --preset arm-dom0");
  run(s, "guest new --preset pv-dom0 --name nd");
  run(s, "guest drop nd");
  // "main" is still held: the new guest must not take the dropped name nor replace main.
  const made = run(s, "guest new --preset arm-dom0-smmu");
  assertEquals(made.text.includes("replaced"), false, made.text);
  assertEquals([...s.guests.keys()], ["main", "main2"]);
  run(s, "guest drop main2");
  run(s, "guest drop main");
  run(s, "guest new --preset pvh-dom0-iommu");
  assertEquals([...s.guests.keys()], ["main"]);
});

Deno.test("named guests: guest new and guest show --json agree on name (the session's) and preset", () => {
  const s = new Session({ json: true });
  for (
    const [line, name] of [["guest new --preset arm-dom0", "main"], [
      "guest new --preset pv-dom0 --name pv",
      "pv",
    ]]
  ) {
    const made = JSON.parse(runLine(s, line).output[0]);
    const shown = JSON.parse(runLine(s, "guest show").output[0]);
    assertEquals([made.name, made.preset], [name, line.split(" ")[3]]);
    assertEquals([shown.name, shown.preset], [made.name, made.preset]);
  }
});

Deno.test("named guests: with the debug layer off, the live mappings are said to be unknown, not 0", () => {
  const s = new Session();
  for (
    const l of [
      "guest new --preset pv-dom0 --no-debug --name nd",
      "device add nic --mask 32",
      "buf alloc rx 8K",
      "map nic rx 8K to",
    ]
  ) {
    run(s, l);
  }
  assertStringIncludes(
    run(s, "guest list").text,
    "live mappings not known (the debug layer was off), 4 slots in use",
  );
  run(s, "guest new --preset arm-dom0 --name arm");
  for (const l of ["device add nic --mask 32", "buf alloc rx 8K", "map nic rx 8K to"]) run(s, l);
  assertStringIncludes(
    run(s, "guest list").text,
    "arm-dom0 (arm, auto), 1 live mapping, 4 slots in use",
  );
  run(s, "debug off");
  run(s, "debug on");
  assertStringIncludes(
    run(s, "guest drop arm").text,
    "live mappings not known (the debug layer was off) and 4 bounce slots in use",
  );
});
