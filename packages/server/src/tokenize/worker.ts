// A tokenizer thread: loads the model's tokenizer and turns prompts, chat
// messages and documents into token ids, away from the HTTP thread (a long
// prompt takes seconds to tokenize; meanwhile /health and streams go on).

import { platform, setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { TextTokenizer } from "@glimpse/runtime-cuda";
import { setTimeout as sleep } from "node:timers/promises";
import { ApiError, clientClosed, toApiError } from "../errors.js";
import { chatPrompt, completionPrompts } from "../prompt.js";
import type { FromTokenizer, ToTokenizer, TokenizeJob } from "./protocol.js";

const port = parentPort!;
const data = workerData as { modelDir: string; background?: boolean };
const tokenizer = TextTokenizer.fromDir(data.modelDir);

/** Lowest priority for the documents' thread. On Linux a priority set for "process 0" is the calling thread's own
 * (a thread is a task there); elsewhere it would lower the whole server, so it is left alone. */
const BACKGROUND_NICE = 19;
if (data.background && platform() === "linux") {
  try {
    setPriority(BACKGROUND_NICE);
  } catch {
    // not allowed here (a sandbox without setpriority): documents then share the CPU as prompts do
  }
}

// Document pieces end at a line break near this many characters.
const PIECE_CHARS = 64 * 1024;

function run(job: TokenizeJob, signal: AbortSignal): unknown {
  switch (job.kind) {
    case "completion":
      return completionPrompts(tokenizer, job.prompt, job.suffix);
    case "chat":
      return chatPrompt(tokenizer, job.messages, job.tools);
    case "document":
      return tokenizeDocument(signal, job.text, job.maxTokens, job.share);
  }
}

/**
 * A document in pieces cut at line breaks (its tokens feed a suffix tree, so
 * a piece boundary costs nothing that matters), resting between pieces so
 * that it takes at most `share` of this thread's core, and stopped as soon as
 * it is over the token cap: a 4 MB document is tens of seconds of CPU that
 * would otherwise be taken from decoding, or spent only to be refused.
 */
async function tokenizeDocument(signal: AbortSignal, text: string, maxTokens: number, share: number): Promise<Uint32Array> {
  const ids: number[] = [];
  for (let at = 0; at < text.length;) {
    if (signal.aborted) throw clientClosed();
    let end = Math.min(text.length, at + PIECE_CHARS);
    const nl = end < text.length ? text.lastIndexOf("\n", end) : -1;
    if (nl > at) end = nl + 1;
    const t0 = performance.now();
    for (const id of tokenizer.encode(text.slice(at, end))) ids.push(id);
    if (ids.length > maxTokens) {
      throw new ApiError(413, `text: the document is more than ${maxTokens} tokens (the most one document may hold)`, "invalid_request_error", "text", "document_too_large");
    }
    at = end;
    // Always a turn of the event loop between pieces: a cancel message is read there.
    if (at < text.length) await sleep(share < 1 ? ((performance.now() - t0) * (1 - share)) / share : 0, undefined, { signal }).catch(() => {});
  }
  return Uint32Array.from(ids);
}

/** Jobs being run, and what stops each (a cancel for one that has ended is dropped). */
const running = new Map<number, AbortController>();

port.on("message", async (m: ToTokenizer) => {
  if ("cancel" in m) {
    running.get(m.cancel)?.abort();
    return;
  }
  const { id, job } = m;
  let reply: FromTokenizer;
  const stop = new AbortController();
  running.set(id, stop);
  try {
    reply = { id, value: await run(job, stop.signal) };
  } catch (err) {
    const e = toApiError(err);
    reply = { id, error: { status: e.status, message: e.message, type: e.type, param: e.param, code: e.code } };
  } finally {
    running.delete(id);
  }
  const transfer = "value" in reply && reply.value instanceof Uint32Array ? [reply.value.buffer as ArrayBuffer] : [];
  port.postMessage(reply, transfer);
});
