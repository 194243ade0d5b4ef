// Server-sent events as OpenAI streams them: `data: {json}\n\n` events,
// ending with `data: [DONE]`.
//
// Two things keep streaming cheap. Writes wait for the socket to drain, so a
// slow reader stops its own stream being pulled instead of growing the
// server's memory; one that does not drain within `writeTimeoutMs` (a client
// that stopped reading) has its connection closed, which cancels its
// generations and frees their slots. And events that arrive within `coalesceMs` of the last write are
// sent together: a small model on a fast machine produces a token every
// ~0.2 ms, and one write (a syscall, and a wake-up of the client) per token
// would cost more than the token. An event after a quiet spell, such as the
// first token, is written at once, so time to first token is unchanged.

import type { Response } from "express";

export class SseWriter {
  private closed = false;
  private pending = "";
  private lastWrite = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private drained: Promise<void> | null = null;

  constructor(private readonly res: Response, private readonly coalesceMs = 5, private readonly writeTimeoutMs = 30_000) {
    res.status(200);
    res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
    res.setHeader("Cache-Control", "no-cache");
    res.setHeader("Connection", "keep-alive");
    res.setHeader("X-Accel-Buffering", "no");
    res.flushHeaders();
    res.once("close", () => {
      this.closed = true;
      if (this.timer) clearTimeout(this.timer);
    });
  }

  async send(data: unknown): Promise<void> {
    await this.queue(`data: ${JSON.stringify(data)}\n\n`);
  }

  async done(): Promise<void> {
    this.pending += "data: [DONE]\n\n";
    await this.flush();
    if (!this.closed) this.res.end();
  }

  private async queue(event: string): Promise<void> {
    if (this.closed) return;
    if (this.drained) await this.drained;
    this.pending += event;
    const since = performance.now() - this.lastWrite;
    if (since >= this.coalesceMs) return this.flush();
    this.timer ??= setTimeout(() => void this.flush(), this.coalesceMs - since);
  }

  private async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.closed || this.pending.length === 0) return;
    const text = this.pending;
    this.pending = "";
    this.lastWrite = performance.now();
    if (this.res.write(text)) return;
    this.drained ??= new Promise<void>((resolve) => {
      // Never drained: the client stopped reading. Closing the socket ends the wait ("close").
      const stuck = setTimeout(() => this.res.destroy(), this.writeTimeoutMs);
      const finish = () => {
        clearTimeout(stuck);
        this.res.off("drain", finish);
        this.res.off("close", finish);
        this.drained = null;
        resolve();
      };
      this.res.on("drain", finish);
      this.res.on("close", finish);
    });
    await this.drained;
  }
}
