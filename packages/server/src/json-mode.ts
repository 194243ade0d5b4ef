// response_format {"type": "json_object"} without constrained decoding: the
// server passes on the first complete JSON object the model writes (text
// before its opening brace is dropped) and stops the generation right after
// its closing brace. The runtime has no logits-mask hook yet, so a model that
// never writes an object still returns what it wrote.

export interface TextFilter {
  /** Takes the next piece of generated text; returns what to pass on and whether the answer is complete. */
  push(text: string): { emit: string; done: boolean };
}

export class JsonObjectFilter implements TextFilter {
  private depth = 0;
  private started = false;
  private inString = false;
  private escaped = false;
  private finished = false;

  push(text: string): { emit: string; done: boolean } {
    if (this.finished) return { emit: "", done: true };
    let from = -1;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (!this.started) {
        if (c !== "{") continue;
        this.started = true;
        from = i;
      } else if (from < 0) {
        from = 0;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === "\\") this.escaped = true;
        else if (c === "\"") this.inString = false;
        continue;
      }
      if (c === "\"") this.inString = true;
      else if (c === "{" || c === "[") this.depth++;
      else if (c === "}" || c === "]") {
        this.depth--;
        if (this.depth === 0) {
          this.finished = true;
          return { emit: text.slice(from, i + 1), done: true };
        }
      }
    }
    return { emit: from >= 0 ? text.slice(from) : "", done: false };
  }
}
