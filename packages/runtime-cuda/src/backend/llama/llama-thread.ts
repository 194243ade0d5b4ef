// Which thread of this process may use llama.cpp. node-llama-cpp's native
// addon keeps process-wide state (the llama.cpp backend, its log callback)
// that each thread's copy of the addon overwrites, and a worker thread's exit
// frees the backend for every thread: two threads using it at once crash the
// process ("terminate called after throwing an instance of 'Napi::Error'").
// So one thread at a time holds it, from its first GGUF load until it exits
// (node-llama.ts never disposes the library: recreating it loses its log
// callback), recorded in a slot shared by every thread: a SharedArrayBuffer in
// the worker environment data, which workers spawned after it exists inherit.
// RemoteEngine frees the slot of its worker once the thread is gone.

import { getEnvironmentData, setEnvironmentData, threadId } from "node:worker_threads";
import { ModelLoadError } from "../../errors.js";

const KEY = "glimpse.llama-thread";
const FREE = 0;

/** The shared slot (thread id + 1 of the holder, 0 when free), created here if no parent thread made one. */
export function llamaThreadSlot(): Int32Array {
  const inherited = getEnvironmentData(KEY);
  if (inherited instanceof SharedArrayBuffer) return new Int32Array(inherited);
  const buffer = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
  setEnvironmentData(KEY, buffer);
  return new Int32Array(buffer);
}

/** Takes the slot for this thread, or throws naming the thread that holds it. */
export function claimLlamaThread(file: string): void {
  const me = threadId + 1;
  const holder = Atomics.compareExchange(llamaThreadSlot(), 0, FREE, me);
  if (holder === FREE || holder === me) return;
  throw new ModelLoadError(`${file}: llama.cpp is in use by another thread of this process (thread ${holder - 1}), which keeps it until it `
    + "exits. node-llama-cpp keeps one llama.cpp state per process, so the GGUF engines of a process must share one thread: load them "
    + "all in one thread (Engine), or in one RemoteEngine at a time, or in processes of their own");
}

/** Frees the slot held by a worker thread that has exited (closed, crashed or terminated). */
export function releaseExitedThread(id: number): void {
  Atomics.compareExchange(llamaThreadSlot(), 0, id + 1, FREE);
}
