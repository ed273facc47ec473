/**
 * Entry point of the swiotlb-lab REPL. This first version prints the banner, the
 * presets and what the engine offers through mod.ts; the interactive command set of
 * SPEC §10 lands with lib/repl/.
 */

import { formatHex, Guest, PRESETS } from "./mod.ts";

const BANNER = `swiotlb-lab — swiotlb-xen (Linux 3.11 + RFC "support autotranslate guests")`;

function help(): string {
  const presets = Object.entries(PRESETS).map(([n, p]) => `  ${n.padEnd(20)} ${p.description}`);
  return [
    BANNER,
    "",
    "The interactive commands are not in this build yet; the engine is, through mod.ts:",
    "  import { Guest } from './mod.ts'; Guest.create({ preset: 'arm-dom0' })",
    "",
    "Presets:",
    ...presets,
  ].join("\n");
}

if (import.meta.main) {
  console.log(help());
  const g = Guest.create({ preset: "arm-dom0" });
  const s = g.summary();
  console.log(
    `\narm-dom0: ${g.opsName}, pool ${g.init.nslabs} slots at phys ${
      formatHex(g.init.poolPhys)
    }, ${s.segments} segments, tree height ${s.treeHeight}, ${s.treeValid ? "valid" : "INVALID"}`,
  );
}
