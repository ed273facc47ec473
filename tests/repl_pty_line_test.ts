/**
 * The real prompt's line editing (issue 13). Ctrl-R finds an earlier command and runs it
 * again. A 6,000-character `buf write` line pasted into an 80-column terminal is read in time
 * linear in its length: node:readline measured the whole line after every character (and
 * redrew it at every wrapped row), so the line took ~10 s of CPU; now about as long per
 * character as a 60-character line.
 *
 * What is measured: the CPU time of the REPL's own process (from /proc, in ns) from writing
 * the line until its answer and the next prompt are printed, as the median of 5 tries, long
 * over short. CPU time counts only the REPL's own work, so other load on a noisy machine
 * (this test runs beside the rest of the suite on 2 cores) changes it far less than wall
 * time, and the ratio cancels the machine's speed. A line 100 times longer may cost 100
 * times as much if reading is linear (less, as each line has a fixed cost); a quadratic
 * reader costs thousands of times as much. Skipped, with a note, without `script`.
 */

import { assert, assertEquals } from "@std/assert";
import { cpuClock, hasScript, plain, sleep, startPty } from "./_pty.ts";

const HAS_SCRIPT = hasScript();
if (!HAS_SCRIPT) console.log("pty line tests skipped: util-linux `script` is not installed");

/** A `buf write rx` line of exactly `length` characters, and how many bytes it writes. */
function bufWrite(length: number): { line: string; bytes: number } {
  const head = "buf write rx ab";
  const pairs = (length - head.length) / 3;
  assert(Number.isInteger(pairs), `no buf write line of ${length} characters`);
  return { line: head + ":ab".repeat(pairs), bytes: pairs + 1 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

Deno.test({
  name: "pty: a 6,000-character line costs CPU linear in its length (ratio to a 60-character one)",
  ignore: !HAS_SCRIPT,
  async fn() {
    const home = Deno.makeTempDirSync({ prefix: "swiotlb_home_" });
    const pty = startPty(
      ["--allow-read", "--allow-env", "repl.ts", "--no-history"],
      home,
      "null",
      { columns: 80 },
    );
    const { child, writer, waitFor, type } = pty;
    const encoder = new TextEncoder();
    try {
      await waitFor("swiotlb> ");
      await type("guest new --preset arm-dom0\r", "tree: 256 nodes");
      await type("buf alloc rx 64K\r", "buffer rx:");
      const cpu = cpuClock(pty.replPid());
      /** CPU (ns) the REPL spends on `line`, pasted in one write, up to its next prompt. */
      const cost = async (line: string, answer: string) => {
        await sleep(50);
        const from = pty.out().length;
        const before = cpu.now();
        await writer.write(encoder.encode(line + "\r"));
        await waitFor(answer, from, 120_000);
        const at = pty.out().indexOf(answer, from);
        await waitFor("swiotlb> ", at);
        await sleep(50);
        return cpu.now() - before;
      };
      const short = bufWrite(60);
      const long = bufWrite(6000);
      const shortAnswer = `wrote ${short.bytes} bytes to rx+0x0`;
      const longAnswer = `wrote ${long.bytes} bytes to rx+0x0`;
      // Once each first, so both are measured with the code they run compiled.
      await cost(short.line, shortAnswer);
      await cost(long.line, longAnswer);
      const shorts: number[] = [];
      const longs: number[] = [];
      for (let i = 0; i < 5; i++) {
        shorts.push(await cost(short.line, shortAnswer));
        longs.push(await cost(long.line, longAnswer));
      }
      // A clock in 10 ms ticks may see no time at all for the short line.
      const s = Math.max(median(shorts), cpu.resolution);
      const l = median(longs);
      const ratio = l / s;
      console.log(
        `CPU per line: 60 characters ${(s / 1e6).toFixed(1)} ms, ` +
          `6,000 characters ${(l / 1e6).toFixed(1)} ms (ratio ${ratio.toFixed(1)})`,
      );
      assert(
        ratio < 100,
        `a 6,000-character line cost ${ratio.toFixed(0)} times the CPU of a 60-character one ` +
          `(${(l / 1e6).toFixed(1)} ms vs ${(s / 1e6).toFixed(1)} ms): reading is not linear`,
      );
      await type("quit\r", "\n");
      await child.status;
      await pty.reading;
    } finally {
      Deno.removeSync(home, { recursive: true });
      await writer.close().catch(() => {});
      try {
        child.kill();
      } catch {
        // Already gone.
      }
    }
  },
});

Deno.test({
  name: "pty: Ctrl-R finds an earlier command by a piece of it and Enter runs it again",
  ignore: !HAS_SCRIPT,
  async fn() {
    const home = Deno.makeTempDirSync({ prefix: "swiotlb_home_" });
    const pty = startPty(["--allow-read", "--allow-write", "--allow-env", "repl.ts"], home, "null");
    const { child, writer, waitFor, type } = pty;
    try {
      await waitFor("swiotlb> ");
      await type("guest new --preset arm-dom0\r", "tree: 256 nodes");
      await type("guest presets\r", "pvh-dom0-iommu");
      await type("\x12preset arm", "(reverse-i-search)'preset arm': guest new --preset arm-dom0");
      const from = pty.out().length;
      await type("\r", "tree: 256 nodes");
      assert(plain(pty.out().slice(from)).includes("swiotlb> guest new --preset arm-dom0"));
      await type("quit\r", "\n");
      assertEquals((await child.status).code, 0);
      await pty.reading;
      assertEquals(
        Deno.readTextFileSync(`${home}/.swiotlb_lab_history`),
        "guest new --preset arm-dom0\nguest presets\nguest new --preset arm-dom0\nquit\n",
      );
    } finally {
      Deno.removeSync(home, { recursive: true });
      await writer.close().catch(() => {});
      try {
        child.kill();
      } catch {
        // Already gone.
      }
    }
  },
});
