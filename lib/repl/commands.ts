/**
 * The command table: every verb of the REPL, in help order. Parsing, `help` and tab
 * completion all read this one list.
 *
 * @module
 */

import { compareCommands } from "./commands/compare.ts";
import { dmaCommands } from "./commands/dma.ts";
import { sgCommands } from "./commands/sg.ts";
import { guestCommands } from "./commands/guest.ts";
import { guestsCommands } from "./commands/guests.ts";
import { inspectCommands } from "./commands/inspect.ts";
import { repeatCommands } from "./commands/repeat.ts";
import { reportCommands } from "./commands/report.ts";
import { recordCommands } from "./commands/record.ts";
import { sessionCommands } from "./commands/session.ts";
import { treeCommands } from "./commands/tree.ts";
import type { CommandSpec } from "./table.ts";

const TABLE: readonly CommandSpec[] = [
  ...guestCommands,
  ...guestsCommands,
  ...dmaCommands,
  ...sgCommands,
  ...inspectCommands,
  ...treeCommands,
  ...repeatCommands,
  ...reportCommands,
  ...sessionCommands,
  ...recordCommands,
  ...compareCommands,
];

/** Every verb. */
export function cmdTable(): readonly CommandSpec[] {
  return TABLE;
}
