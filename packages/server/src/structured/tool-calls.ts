// A choice's output as OpenAI tool calls: whole (message.tool_calls) and as
// stream deltas (delta.tool_calls), from the same reading of the text, so a
// stream's pieces join to exactly the non-streamed calls.

import { randomUUID } from "node:crypto";
import { ToolArrayScanner, type ToolArrayEvent } from "./tool-array-scanner.js";
import type { ToolMode } from "./tools.js";

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** A new call (id, type, name, arguments "") or more of a call's arguments. */
export type ToolCallDelta =
  | { index: number; id: string; type: "function"; function: { name: string; arguments: string } }
  | { index: number; function: { arguments: string } };

const callId = () => `call_${randomUUID().replaceAll("-", "").slice(0, 24)}`;

export class ToolCallReader {
  private readonly calls: ToolCall[] = [];
  private readonly scanner: ToolArrayScanner | null;
  /** The scanner's item index -> our call index (the same unless an item had no name). */
  private readonly byItem = new Map<number, number>();

  constructor(private readonly mode: ToolMode) {
    this.scanner = mode.kind === "required" ? new ToolArrayScanner() : null;
  }

  /** Deltas known before any output: a named function's call. */
  opening(): ToolCallDelta[] {
    return this.mode.kind === "named" ? [this.start(this.mode.name)] : [];
  }

  /** The next piece of output -> deltas. */
  push(text: string): ToolCallDelta[] {
    if (!this.scanner) return text ? [this.append(0, text)] : [];
    return this.fromScanner(this.scanner.push(text));
  }

  finish(): ToolCallDelta[] {
    return this.scanner ? this.fromScanner(this.scanner.finish()) : [];
  }

  /** The calls so far (all of them once finish() has run). */
  result(): ToolCall[] {
    return this.calls.map((c) => ({ ...c, function: { ...c.function } }));
  }

  /** The whole output at once: opening, push, finish. */
  static read(mode: ToolMode, text: string): ToolCall[] {
    const r = new ToolCallReader(mode);
    r.opening();
    r.push(text);
    r.finish();
    return r.result();
  }

  private fromScanner(events: ToolArrayEvent[]): ToolCallDelta[] {
    return events.flatMap((e) => {
      if (e.kind === "call") {
        this.byItem.set(e.index, this.calls.length);
        return [this.start(e.name)];
      }
      const index = this.byItem.get(e.index);
      return index === undefined ? [] : [this.append(index, e.text)];
    });
  }

  private start(name: string): ToolCallDelta {
    const call: ToolCall = { id: callId(), type: "function", function: { name, arguments: "" } };
    this.calls.push(call);
    return { index: this.calls.length - 1, id: call.id, type: "function", function: { name, arguments: "" } };
  }

  private append(index: number, text: string): ToolCallDelta {
    this.calls[index].function.arguments += text;
    return { index, function: { arguments: text } };
  }
}
