// POST /v1/chat/completions: messages through the model's chat template.

import type { InferenceEngine } from "@glimpse/runtime-cuda";
import { randomUUID } from "node:crypto";
import { Router, type Request, type Response } from "express";
import type { BodyParser } from "../body.js";
import { admit, checkModel, disconnectSignal, nowSeconds, parseBody, type AppContext } from "../context.js";
import { badRequest } from "../errors.js";
import { Choice, startChoices, type ChoiceDelta, type ChoiceOutcome } from "../generation.js";
import { checkPromptLength } from "../prompt.js";
import { runAll, streamAll, usageOf } from "../respond.js";
import { samplingOptions } from "../sampling.js";
import { chatRequest } from "../schemas/chat.js";
import { responseMetrics } from "../spec-stats.js";
import { prepareConstraints } from "../structured/prepare.js";
import { requestConstraint } from "../structured/request-constraint.js";
import { requireJsonMention } from "../structured/response-format.js";
import { ToolCallReader } from "../structured/tool-calls.js";
import { templateMessages } from "../structured/tool-messages.js";
import { toolPlan, type ToolMode } from "../structured/tools.js";

export function chatRouter(ctx: AppContext, body: BodyParser): Router {
  const router = Router();
  router.post("/v1/chat/completions", body, async (req: Request, res: Response) => {
    const r = parseBody(chatRequest, req.body);
    checkModel(ctx, r.model);
    if (r.response_format?.type === "json_object") requireJsonMention(r.messages);
    if (r.max_tokens != null && r.max_completion_tokens != null && r.max_tokens !== r.max_completion_tokens) {
      throw badRequest("max_completion_tokens", "conflicts with max_tokens; send one of them");
    }
    const tools = toolPlan(r);
    const constraint = requestConstraint(r, tools?.source ?? null);
    // Compiled before any response byte: a bad schema is a 400, stream or not.
    if (constraint) await prepareConstraints(ctx.engine, [...(tools?.checks ?? []), constraint]);
    const mode = tools?.mode ?? null;
    // Bytes first, then the template and tokens in a tokenizer thread: a long prompt never holds up the HTTP thread.
    const messages = templateMessages(r.messages);
    ctx.inputLimits.checkChat(messages);
    const prompt = await ctx.tokenizers.run({ kind: "chat", messages, ...(r.tools ? { tools: r.tools } : {}) });
    checkPromptLength(ctx.engine, prompt, "messages");
    const n = r.n ?? 1;

    const release = admit(ctx, n);
    try {
      const signal = disconnectSignal(res);
      // As vLLM: without a limit, the rest of the model's length.
      const maxTokens = r.max_completion_tokens ?? r.max_tokens ?? ctx.engine.maxModelLen - prompt.ids.length;
      const logprobs = r.logprobs === true;
      const options = { ...samplingOptions(r, maxTokens, logprobs, r.top_logprobs ?? 0), ...(constraint ? { constraint: constraint.constraint } : {}) };
      const choices = startChoices(n, (i) =>
        Choice.start(ctx.engine, { ...options, streamCoalesceMs: ctx.streamCoalesceMs, promptIds: prompt.ids, seed: options.seed === undefined ? undefined : options.seed + i }, signal));
      const id = `chatcmpl-${randomUUID().replaceAll("-", "")}`;
      const created = nowSeconds();
      const top = r.top_logprobs ?? 0;

      if (r.stream) {
        const head = { id, object: "chat.completion.chunk", created, model: ctx.modelName };
        const chunk = (i: number, delta: object, d: ChoiceDelta | null, finish: string | null) =>
          ({ ...head, choices: [{ index: i, delta, logprobs: logprobs && d ? chatLogprobs(ctx.engine, d, top) : null, finish_reason: finish }] });
        // With a forced tool call, the text becomes tool_calls deltas (a piece that completes none sends nothing, unless it has logprobs).
        const readers = mode ? choices.map(() => new ToolCallReader(mode)) : null;
        await streamAll(ctx, res, choices, signal, {
          opening: (i) => {
            if (!readers) return chunk(i, { role: "assistant", content: "" }, null, null);
            const calls = readers[i].opening();
            return chunk(i, { role: "assistant", content: null, ...(calls.length ? { tool_calls: calls } : {}) }, null, null);
          },
          delta: (i, d) => {
            if (!readers) return chunk(i, { content: d.text }, d, null);
            const calls = readers[i].push(d.text);
            return calls.length || logprobs ? chunk(i, calls.length ? { tool_calls: calls } : {}, d, null) : null;
          },
          finish: (i, o) => {
            const calls = readers?.[i].finish() ?? [];
            return chunk(i, calls.length ? { tool_calls: calls } : {}, null, finishReason(mode, o));
          },
          usage: (usage, metrics) => ({ ...head, choices: [], usage, metrics }),
        }, prompt.ids.length, r.stream_options?.include_usage === true, n);
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
          message: mode
            ? { role: "assistant", content: null, tool_calls: ToolCallReader.read(mode, o.text), refusal: null }
            : { role: "assistant", content: o.text, refusal: null },
          logprobs: logprobs ? chatLogprobs(ctx.engine, o, top) : null,
          finish_reason: finishReason(mode, o),
        })),
        usage: usageOf(prompt.ids.length, outcomes, n),
        metrics: responseMetrics(outcomes),
      });
    } finally {
      release();
    }
  });
  return router;
}

/** A forced tool call that ran to its end finishes with "tool_calls", as OpenAI's. */
function finishReason(mode: ToolMode | null, o: ChoiceOutcome): string {
  return mode && o.finishReason === "stop" ? "tool_calls" : o.finishReason;
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
