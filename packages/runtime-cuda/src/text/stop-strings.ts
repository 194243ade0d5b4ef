// Stop strings over streamed text: text that might be the start of a stop
// string is held back until it is known not to be one.

export class StopStringMatcher {
  private pending = "";
  readonly maxLength: number;

  constructor(private readonly stops: readonly string[]) {
    this.maxLength = stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  /** Feeds text; returns text safe to emit and whether a stop string was hit. */
  push(text: string): { emit: string; stopped: boolean } {
    if (this.stops.length === 0) return { emit: text, stopped: false };
    this.pending += text;
    let cut = -1;
    for (const s of this.stops) {
      const i = this.pending.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      const emit = this.pending.slice(0, cut);
      this.pending = "";
      return { emit, stopped: true };
    }
    // Hold back the longest tail that is a prefix of some stop string.
    let hold = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, this.pending.length); k > hold; k--) {
        if (this.pending.endsWith(s.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    const emit = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return { emit, stopped: false };
  }

  flush(): string {
    const rest = this.pending;
    this.pending = "";
    return rest;
  }
}
