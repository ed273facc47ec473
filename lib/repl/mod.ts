/**
 * The swiotlb-lab REPL: one command table behind the interactive prompt, scripts, piped
 * stdin and `source` (SPEC §10). `runLine` is the in-process API tests use.
 *
 * @module
 */

export { cmdTable } from "./commands.ts";
export { complete } from "./complete.ts";
export { type LineResult, parseLine, runLine } from "./run.ts";
export { runScriptFile, runScriptText, type ScriptResult } from "./script.ts";
export { type FileAccess, Session, type SessionOptions } from "./session.ts";
export { tokenize } from "./tokenize.ts";
