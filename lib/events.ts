/**
 * Events the engine records instead of printing (DESIGN.md "Data flows one way"):
 * trace lines, kernel-style log messages, undefined-behaviour reports and DMA-API
 * debug reports. The REPL drains them after each command and renders them.
 *
 * @module
 */

import { type MessagePart, renderParts } from "./errors.ts";
import type { ExplainStep } from "./explain.ts";

/** What an event is. */
export type EventKind =
  /** One engine step, recorded only while tracing is on (SPEC §9 `trace`). */
  | "trace"
  /** A message the kernel would print (pr_info / pr_warn / pr_err). */
  | "log"
  /** The faithful policy performed something the kernel leaves undefined (SPEC §3). */
  | "ub"
  /** A DMA-API debug report (SPEC §8). */
  | "debug";

/** One recorded event. */
export interface LabEvent {
  kind: EventKind;
  /** Subsystem that recorded it: "swiotlb", "swiotlb-xen", "xen", "dma", "fixup", … */
  source: string;
  /** The text; kernel output is as the kernel prints it, a trace line's addresses in hex. */
  message: string;
  /**
   * A trace line as message parts: the lab's own words, whose addresses a face prints in
   * its radix (SPEC §10 `set radix`); kernel output has none, its hex is the kernel's.
   */
  parts?: readonly MessagePart[];
}

/** An event's text with the addresses of a trace line printed by `num` (a face's radix). */
export function eventText(e: LabEvent, num: (x: number | bigint) => string): string {
  return e.parts === undefined ? e.message : renderParts(e.parts, num);
}

/**
 * An append-only log of events with a cheap "is tracing on?" flag, so hot paths build a
 * trace string only when somebody will read it.
 */
export class EventLog {
  /** When false, {@link trace} records nothing; check it before building a message. */
  tracing = false;
  /**
   * When false, {@link explain} records nothing (`explain on|off`); engine code checks it
   * before building a step, so narration costs nothing while it is off.
   */
  explaining = false;
  #events: LabEvent[] = [];
  #explained: ExplainStep[] = [];
  /** For each step, how many of the buffered events were recorded before it. */
  #explainedAfter: number[] = [];
  /** Counts per kind since creation (draining does not reset them). */
  readonly counts: Record<EventKind, number> = { trace: 0, log: 0, ub: 0, debug: 0 };

  /** Records an event. */
  push(kind: EventKind, source: string, message: string): void {
    this.counts[kind]++;
    this.#events.push({ kind, source, message });
  }

  /**
   * Records a trace line if tracing is on: words, or message parts whose addresses follow
   * the reader's radix. Callers on hot paths check {@link tracing} before building either.
   */
  trace(source: string, message: string | readonly MessagePart[]): void {
    if (!this.tracing) return;
    if (typeof message === "string") {
      this.push("trace", source, message);
      return;
    }
    this.counts.trace++;
    this.#events.push({ kind: "trace", source, message: renderParts(message), parts: message });
  }

  /** Records a kernel-style log message. */
  log(source: string, message: string): void {
    this.push("log", source, message);
  }

  /** Records an undefined-behaviour event naming the call (SPEC §3 faithful policy). */
  ub(source: string, message: string): void {
    this.push("ub", source, message);
  }

  /** Records a narrated step if explaining is on. */
  explain(step: ExplainStep): void {
    if (!this.explaining) return;
    this.#explained.push(step);
    this.#explainedAfter.push(this.#events.length);
  }

  /** Steps recorded since the last drain, oldest first; empties that buffer. */
  drainExplained(): ExplainStep[] {
    return this.drainExplainedAt().steps;
  }

  /**
   * {@link drainExplained}, with where each step falls among the events {@link drain}
   * returns next: `after[i]` of them were recorded before `steps[i]` (so a renderer can
   * interleave the narration with the log and trace lines).
   */
  drainExplainedAt(): { steps: ExplainStep[]; after: number[] } {
    const out = { steps: this.#explained, after: this.#explainedAfter };
    this.#explained = [];
    this.#explainedAfter = [];
    return out;
  }

  /** Events recorded since the last drain, oldest first; empties the buffer. */
  drain(): LabEvent[] {
    const out = this.#events;
    this.#events = [];
    // Steps not drained yet now come after no buffered event.
    this.#explainedAfter.fill(0);
    return out;
  }

  /** Events recorded since the last drain, without removing them. */
  peek(): readonly LabEvent[] {
    return this.#events;
  }
}
