// POST /v1/chat/completions: messages through the model's chat template.

import type { InferenceEngine } from "@glimpse/runtime-cuda";
import { randomUUID } from "node:crypto";
import { Router, type Request, type Response } from "express";
import type { BodyParser } from "../body.js";
import { admit, checkModel, disconnectSignal, nowSeconds, parseBody, type AppContext } from "../context.js";
import { badRequest } from "../errors.js";
import { Choice, startChoices, type ChoiceDelta } from "../generation.js";
import { JsonObjectFilter } from "../json-mode.js";
import { checkPromptLength } from "../prompt.js";
import { runAll, streamAll, usageOf } from "../respond.js";
import { samplingOptions } from "../sampling.js";
import { chatRequest } from "../schemas/chat.js";
import { responseMetrics } from "../spec-stats.js";

export function chatRouter(ctx: AppContext, body: BodyParser): Router {
  const router = Router();
  router.post("/v1/chat/completions", body, async (req: Request, res: Response) => {
    const r = parseBody(chatRequest, req.body);
    checkModel(ctx, r.model);
    const jsonMode = r.response_format?.type === "json_object";
    // OpenAI's rule: JSON mode needs the prompt to ask for JSON, or models ramble.
    if (jsonMode && !r.messages.some((m) => JSON.stringify(m.content).toLowerCase().includes("json"))) {
      throw badRequest("messages", "must contain the word 'json' in some form to use response_format of type 'json_object'");
    }
    if (r.max_tokens != null && r.max_completion_tokens != null && r.max_tokens !== r.max_completion_tokens) {
      throw badRequest("max_completion_tokens", "conflicts with max_tokens; send one of them");
    }
    // Bytes first, then the template and tokens in a tokenizer thread: a long prompt never holds up the HTTP thread.
    ctx.inputLimits.checkChat(r.messages);
    const prompt = await ctx.tokenizers.run({ kind: "chat", messages: r.messages });
    checkPromptLength(ctx.engine, prompt, "messages");
    const n = r.n ?? 1;

    const release = admit(ctx, n);
    try {
      const signal = disconnectSignal(res);
      // As vLLM: without a limit, the rest of the model's length.
      const maxTokens = r.max_completion_tokens ?? r.max_tokens ?? ctx.engine.maxModelLen - prompt.ids.length;
      const logprobs = r.logprobs === true;
      const options = samplingOptions(r, maxTokens, logprobs, r.top_logprobs ?? 0);
      const choices = startChoices(n, (i) =>
        Choice.start(ctx.engine, { ...options, streamCoalesceMs: ctx.streamCoalesceMs, promptIds: prompt.ids, seed: options.seed === undefined ? undefined : options.seed + i }, signal,
          jsonMode ? new JsonObjectFilter() : null));
      const id = `chatcmpl-${randomUUID().replaceAll("-", "")}`;
      const created = nowSeconds();
      const top = r.top_logprobs ?? 0;

      if (r.stream) {
        const head = { id, object: "chat.completion.chunk", created, model: ctx.modelName };
        await streamAll(ctx, res, choices, signal, {
          opening: (i) => ({ ...head, choices: [{ index: i, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] }),
          delta: (i, d) => ({ ...head, choices: [{ index: i, delta: { content: d.text }, logprobs: logprobs ? chatLogprobs(ctx.engine, d, top) : null, finish_reason: null }] }),
          finish: (i, o) => ({ ...head, choices: [{ index: i, delta: {}, logprobs: null, finish_reason: o.finishReason }] }),
          usage: (usage, metrics) => ({ ...head, choices: [], usage, metrics }),
        }, prompt.ids.length, r.stream_options?.include_usage === true);
        return;
      }
      const outcomes = await runAll(ctx, choices, signal);
      if (!outcomes) return;
      res.json({
        id,
        object: "chat.completion",
        created,
        model: ctx.modelName,
        choices: outcomes.map((o, i) => ({
          index: i,
          message: { role: "assistant", content: o.text, refusal: null },
          logprobs: logprobs ? chatLogprobs(ctx.engine, o, top) : null,
          finish_reason: o.finishReason,
        })),
        usage: usageOf(prompt.ids.length, outcomes),
        metrics: responseMetrics(outcomes),
      });
    } finally {
      release();
    }
  });
  return router;
}

/** Chat logprobs: each token's log-probability, and the `top` most likely tokens at its position (OpenAI's top_logprobs). */
function chatLogprobs(engine: InferenceEngine, d: Pick<ChoiceDelta, "tokenIds" | "logprobs" | "topLogprobs">, top: number) {
  const entry = (t: number, logprob: number) => {
    const token = engine.tokenizer.decode([t], false);
    return { token, logprob, bytes: [...Buffer.from(token, "utf8")] };
  };
  return {
    content: d.tokenIds.map((t, i) => ({
      ...entry(t, d.logprobs?.[i] ?? 0),
      top_logprobs: top > 0 ? (d.topLogprobs?.[i] ?? []).slice(0, top).map((alt) => entry(alt.id, alt.logprob)) : [],
    })),
  };
}
