/** Every examples/*.ts runs to completion (each is self-checking). */

import { assertEquals } from "@std/assert";

const dir = new URL("../examples/", import.meta.url);
for (const e of Deno.readDirSync(dir)) {
  if (!e.isFile || !e.name.endsWith(".ts") || e.name === "run.ts") continue;
  Deno.test(`example ${e.name} runs green`, async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", new URL(e.name, dir).pathname],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  });
}
