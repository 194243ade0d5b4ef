// Messages between the HTTP thread and a tokenizer thread.

import type { Prompt } from "../prompt.js";
import type { ChatMessageInput } from "../schemas/chat.js";

export type TokenizeJob =
  | { kind: "completion"; prompt: string | string[] | number[] | number[][]; suffix: string | null | undefined }
  /** `tools`: the request's tool definitions, for templates that show them to the model. */
  | { kind: "chat"; messages: ChatMessageInput[]; tools?: unknown[] }
  /** A suffix document: tokenized in pieces, at most `share` of the thread's time, refused (413) past `maxTokens`. */
  | { kind: "document"; text: string; maxTokens: number; share: number };

/** What each kind of job resolves to. */
export interface TokenizeResults {
  completion: Prompt[];
  chat: Prompt;
  /** Token ids, as a typed array: it crosses threads as one copy, not element by element. */
  document: Uint32Array;
}

/** An ApiError as data (its class does not survive postMessage). */
export interface ApiErrorData {
  status: number;
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

/** A job, or the cancelling of a document job whose client has gone (the thread stops it at its next piece). */
export type ToTokenizer = { id: number; job: TokenizeJob } | { cancel: number };
export type FromTokenizer = { id: number; value: unknown } | { id: number; error: ApiErrorData };
