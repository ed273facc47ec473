/**
 * The command table: every verb of the REPL, in help order. Parsing, `help` and tab
 * completion all read this one list.
 *
 * @module
 */

import { dmaCommands } from "./cmd_dma.ts";
import { guestCommands } from "./cmd_guest.ts";
import { inspectCommands } from "./cmd_inspect.ts";
import { sessionCommands } from "./cmd_session.ts";
import { treeCommands } from "./cmd_tree.ts";
import type { CommandSpec } from "./table.ts";

const TABLE: readonly CommandSpec[] = [
  ...guestCommands,
  ...dmaCommands,
  ...inspectCommands,
  ...treeCommands,
  ...sessionCommands,
];

/** Every verb. */
export function cmdTable(): readonly CommandSpec[] {
  return TABLE;
}
