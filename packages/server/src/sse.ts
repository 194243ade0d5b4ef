// Server-sent events as OpenAI streams them: `data: {json}\n\n` lines, ending
// with `data: [DONE]`. Writes wait for the socket to drain, so a slow client
// slows its own generation instead of growing the server's memory.

import type { Response } from "express";

export class SseWriter {
  private closed = false;

  constructor(private readonly res: Response) {
    res.status(200);
    res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
    res.setHeader("Cache-Control", "no-cache");
    res.setHeader("Connection", "keep-alive");
    res.setHeader("X-Accel-Buffering", "no");
    res.flushHeaders();
    res.once("close", () => (this.closed = true));
  }

  async send(data: unknown): Promise<void> {
    await this.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  async done(): Promise<void> {
    await this.write("data: [DONE]\n\n");
    if (!this.closed) this.res.end();
  }

  private async write(line: string): Promise<void> {
    if (this.closed) return;
    if (this.res.write(line)) return;
    await new Promise<void>((resolve) => {
      const finish = () => {
        this.res.off("drain", finish);
        this.res.off("close", finish);
        resolve();
      };
      this.res.on("drain", finish);
      this.res.on("close", finish);
    });
  }
}
