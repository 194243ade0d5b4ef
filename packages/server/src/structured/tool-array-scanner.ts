// Reads the output of tool_choice "required", `[{"name": "f", "parameters":
// {...}}, ...]`, as it is generated: each call's name, and the raw text of
// its parameters as it grows, so that a stream can pass arguments on piece
// by piece. The grammar guarantees the shape; key order is not assumed (the
// arguments wait until the call's name is known).

export type ToolArrayEvent =
  | { kind: "call"; index: number; name: string }
  | { kind: "arguments"; index: number; text: string };

type Slot = "key" | "colon" | "value";

export class ToolArrayScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private index = -1;
  // Inside an item (depth >= 2): where we are in its key-value list.
  private slot: Slot = "key";
  private key = "";
  private raw = ""; // a key or the name value, with its quotes
  private name: string | null = null;
  private announced = false;
  private held = ""; // arguments read before the name
  private started = false; // the parameters value has begun
  private whitespace = ""; // after the parameters value: kept only if more of the value follows
  private events: ToolArrayEvent[] = [];

  /** Takes the next piece of output; returns what it adds. */
  push(text: string): ToolArrayEvent[] {
    for (const c of text) this.step(c);
    return this.take();
  }

  /** The output ended (maybe cut short): announces a named call whose arguments never finished. */
  finish(): ToolArrayEvent[] {
    if (this.depth >= 2) this.announce();
    return this.take();
  }

  private step(c: string): void {
    if (this.inString) {
      this.capture(c);
      if (this.escaped) this.escaped = false;
      else if (c === "\\") this.escaped = true;
      else if (c === "\"") this.endString();
      return;
    }
    if (c === "\"") {
      this.inString = true;
      this.capture(c);
    } else if (c === "{" || c === "[") {
      if (this.depth === 1) this.startItem();
      else this.capture(c);
      this.depth++;
    } else if (c === "}" || c === "]") {
      this.depth--;
      if (this.depth === 1) this.announce(); // the item ended
      else if (this.depth >= 2) this.capture(c);
    } else if (this.depth === 2 && c === ":") {
      this.slot = "value";
    } else if (this.depth === 2 && c === ",") {
      this.slot = "key";
      this.key = "";
    } else if (this.depth >= 2 && !/\s/.test(c)) {
      this.capture(c);
    } else if (this.depth > 2 && this.slot === "value") {
      this.capture(c); // whitespace inside the value is part of it
    } else if (this.depth === 2 && this.slot === "value" && this.key === "parameters" && this.started) {
      this.whitespace += c;
    }
  }

  private startItem(): void {
    this.index++;
    this.slot = "key";
    this.key = "";
    this.name = null;
    this.announced = false;
    this.held = "";
    this.started = false;
    this.whitespace = "";
  }

  private capture(c: string): void {
    if (this.depth === 2 && this.slot === "key") this.raw += c;
    else if (this.slot === "value" && this.key === "name" && this.depth === 2) this.raw += c;
    else if (this.slot === "value" && this.key === "parameters") this.arguments(c);
  }

  private endString(): void {
    this.inString = false;
    if (this.depth !== 2) return;
    if (this.slot === "key") {
      this.key = parseString(this.raw);
      this.slot = "colon";
      this.raw = "";
    } else if (this.slot === "value" && this.key === "name") {
      this.name = parseString(this.raw);
      this.raw = "";
      if (this.held) this.announce();
    }
  }

  private arguments(c: string): void {
    const text = this.whitespace + c;
    this.whitespace = "";
    this.started = true;
    if (this.name === null) {
      this.held += text;
      return;
    }
    this.announce();
    this.emitArguments(text);
  }

  /** The call's first event, with any arguments read before its name. */
  private announce(): void {
    if (this.announced || this.name === null) return;
    this.announced = true;
    this.events.push({ kind: "call", index: this.index, name: this.name });
    if (this.held) this.emitArguments(this.held);
    this.held = "";
  }

  private emitArguments(text: string): void {
    const last = this.events.at(-1);
    if (last?.kind === "arguments" && last.index === this.index) last.text += text;
    else this.events.push({ kind: "arguments", index: this.index, text });
  }

  private take(): ToolArrayEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }
}

function parseString(raw: string): string {
  try {
    const v: unknown = JSON.parse(raw);
    return typeof v === "string" ? v : raw;
  } catch {
    return raw;
  }
}
