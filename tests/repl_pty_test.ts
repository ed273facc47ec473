/**
 * The real interactive REPL under a pseudo-terminal (util-linux `script`): the banner,
 * `help`, a Tab completion, `guest new --preset arm-dom0`, a map, a mistyped verb, and
 * `quit` with status 0. Skipped (with a note) only when `script` is not installed.
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { hasScript, historyExists, plain, sleep, startPty } from "./_pty.ts";

Deno.test({
  name: "pty: interactive session with help, Tab completion, a guest, a map, quit",
  ignore: !hasScript(),
  async fn() {
    const home = Deno.makeTempDirSync({ prefix: "swiotlb_home_" });
    const pty = startPty(
      ["--allow-read", "--allow-write", "--allow-env", "repl.ts", "--no-history"],
      home,
      "piped",
    );
    const { child, writer, waitFor, type } = pty;
    try {
      await waitFor("swiotlb> ");
      assertStringIncludes(plain(pty.out()), "swiotlb-lab — swiotlb-xen");
      assertStringIncludes(plain(pty.out()), "Type 'help' for commands");
      await type("help\r", "Session and scripts");
      // Tab completes the verb, then the preset name as far as it is unique
      // (arm-dom0 and arm-dom0-smmu share "arm-dom0").
      await type("gue\t", "guest ");
      await type("new --preset arm-d\t", "--preset arm-dom0");
      await type("\r", "tree: 256 nodes");
      await type("device add nic --mask 32\r", "device nic: dma_mask 0xffffffff");
      await type("buf alloc rx 8K\r", "buffer rx:");
      await type("map nic rx 8K to\r", "dma handle");
      await type("mpa\r", "did you mean 'map'?");
      await type("quit\r", "\n");
      const status = await child.status;
      await pty.reading;
      assertEquals(status.code, 0, plain(pty.out()));
      const text = plain(pty.out());
      assertStringIncludes(text, "bounced: autotranslated guests always bounce");
      assertStringIncludes(text, "slots 0-3 of segment 0");
      assert(!/^\s+at .*:\d+:\d+/m.test(text), "no stack trace");
      assert(!historyExists(home), "--no-history writes no history file");
    } finally {
      Deno.removeSync(home, { recursive: true });
      try {
        await writer.close();
      } catch {
        // Already closed by the child exiting.
      }
      try {
        child.kill();
      } catch {
        // Already gone.
      }
      await child.stderr.cancel();
    }
  },
});

Deno.test({
  name: "pty: history persists in ~/.swiotlb_lab_history",
  ignore: !hasScript(),
  async fn() {
    const home = Deno.makeTempDirSync({ prefix: "swiotlb_home_" });
    try {
      const pty = startPty(
        ["--allow-read", "--allow-write", "--allow-env", "repl.ts"],
        home,
        "null",
      );
      const { child, writer, waitFor } = pty;
      await waitFor("swiotlb> ");
      await writer.write(new TextEncoder().encode("guest presets\r"));
      await waitFor("pvh-dom0-iommu");
      await writer.write(new TextEncoder().encode("quit\r"));
      assertEquals((await child.status).code, 0);
      await pty.reading;
      await writer.close().catch(() => {});
      const history = Deno.readTextFileSync(`${home}/.swiotlb_lab_history`);
      assertEquals(history, "guest presets\nquit\n");
    } finally {
      Deno.removeSync(home, { recursive: true });
    }
  },
});

Deno.test({
  name: "pty: Ctrl-C during a long source stops it between lines and the prompt comes back",
  ignore: !hasScript(),
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "swiotlb_sigint_" });
    // ~5000 lines of a few ms each: far longer than the test waits.
    const slow = `${dir}/slow.txt`;
    Deno.writeTextFileSync(slow, "guest new --preset arm-dom0 --swiotlb 64M\n".repeat(5000));
    const pty = startPty(["--allow-read", "--allow-env", "repl.ts", "--no-history"], dir, "null");
    const { child, writer, waitFor } = pty;
    try {
      await waitFor("swiotlb> ");
      const from = pty.out().length;
      await writer.write(new TextEncoder().encode(`source ${slow}\r`));
      // The source runs synchronously and prints at its end, so wait a moment, then ^C.
      await sleep(1500);
      await writer.write(new TextEncoder().encode("\x03"));
      await waitFor("interrupted (Ctrl-C); stopped", from);
      await waitFor("swiotlb> ", from);
      assertStringIncludes(plain(pty.out()), `source ${slow}: interrupted`);
      await writer.write(new TextEncoder().encode("quit\r"));
      assertEquals((await child.status).code, 0, plain(pty.out()));
      await pty.reading;
      await writer.close().catch(() => {});
    } finally {
      try {
        child.kill();
      } catch {
        // Already gone.
      }
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
