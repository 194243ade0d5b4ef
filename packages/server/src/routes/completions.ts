// POST /v1/completions: text completion, fill-in-the-middle with `suffix`.

import type { InferenceEngine } from "@glimpse/runtime-cuda";
import { randomUUID } from "node:crypto";
import { Router, type Request, type Response } from "express";
import type { BodyParser } from "../body.js";
import { admit, checkModel, disconnectSignal, nowSeconds, parseBody, type AppContext } from "../context.js";
import { badRequest } from "../errors.js";
import { Choice, startChoices, type ChoiceDelta } from "../generation.js";
import { checkPromptLength } from "../prompt.js";
import { runAll, streamAll, usageOf } from "../respond.js";
import { samplingOptions } from "../sampling.js";
import { completionRequest } from "../schemas/completions.js";
import { responseMetrics } from "../spec-stats.js";
import { prepareConstraints } from "../structured/prepare.js";
import { requestConstraint } from "../structured/request-constraint.js";

// OpenAI's and vLLM's default for /v1/completions.
const DEFAULT_MAX_TOKENS = 16;

export function completionsRouter(ctx: AppContext, body: BodyParser): Router {
  const router = Router();
  router.post("/v1/completions", body, async (req: Request, res: Response) => {
    const r = parseBody(completionRequest, req.body);
    checkModel(ctx, r.model);
    const n = r.n ?? 1;
    if (r.best_of != null && r.best_of !== n) throw badRequest("best_of", "must equal n (best-of selection is not supported)");
    if (r.echo && r.logprobs != null) throw badRequest("echo", "echo together with logprobs is not supported");
    const constraint = requestConstraint(r);
    // Compiled before any response byte: a bad schema is a 400, stream or not.
    if (constraint) await prepareConstraints(ctx.engine, [constraint]);
    // Bytes first, then tokens in a tokenizer thread: a long prompt never holds up the HTTP thread.
    ctx.inputLimits.checkCompletion(r.prompt, r.suffix);
    const prompts = await ctx.tokenizers.run({ kind: "completion", prompt: r.prompt, suffix: r.suffix });
    prompts.forEach((p, i) => checkPromptLength(ctx.engine, p, prompts.length > 1 ? `prompt[${i}]` : "prompt"));

    const release = admit(ctx, prompts.length * n);
    try {
      const signal = disconnectSignal(res);
      const options = { ...samplingOptions(r, r.max_tokens ?? DEFAULT_MAX_TOKENS, r.logprobs != null, r.logprobs ?? 0), ...(constraint ? { constraint: constraint.constraint } : {}) };
      // Choice k answers prompt floor(k / n); seeded requests use seed + (k mod n).
      const choices = startChoices(prompts.length * n, (k) =>
        Choice.start(ctx.engine, { ...options, streamCoalesceMs: ctx.streamCoalesceMs, promptIds: prompts[Math.floor(k / n)].ids, seed: options.seed === undefined ? undefined : options.seed + (k % n) }, signal));
      const id = `cmpl-${randomUUID().replaceAll("-", "")}`;
      const head = { id, object: "text_completion", created: nowSeconds(), model: ctx.modelName };
      const promptTokens = prompts.reduce((s, p) => s + p.ids.length, 0);
      const echo = (k: number) => (r.echo ? prompts[Math.floor(k / n)].text : "");

      if (r.stream) {
        await streamAll(ctx, res, choices, signal, {
          opening: (k) => (r.echo ? { ...head, choices: [{ index: k, text: echo(k), logprobs: null, finish_reason: null }] } : null),
          delta: (k, d) => ({ ...head, choices: [{ index: k, text: d.text, logprobs: r.logprobs != null ? completionLogprobs(ctx.engine, d) : null, finish_reason: null }] }),
          finish: (k, o) => ({ ...head, choices: [{ index: k, text: "", logprobs: null, finish_reason: o.finishReason }] }),
          usage: (usage, metrics) => ({ ...head, choices: [], usage, metrics }),
        }, promptTokens, r.stream_options?.include_usage === true, n);
        return;
      }
      const outcomes = await runAll(ctx, choices, signal);
      if (!outcomes) return;
      res.json({
        ...head,
        choices: outcomes.map((o, k) => ({
          index: k,
          text: echo(k) + o.text,
          logprobs: r.logprobs != null ? completionLogprobs(ctx.engine, o) : null,
          finish_reason: o.finishReason,
        })),
        usage: usageOf(promptTokens, outcomes, n),
        metrics: responseMetrics(outcomes),
      });
    } finally {
      release();
    }
  });
  return router;
}

/**
 * OpenAI's legacy logprobs object. With `logprobs: k`, each position's
 * top_logprobs maps the k most likely tokens (and the chosen one, as vLLM
 * does, when it is not among them) to their log-probabilities; with 0, the
 * chosen token alone.
 */
function completionLogprobs(engine: InferenceEngine, d: Pick<ChoiceDelta, "tokenIds" | "logprobs" | "topLogprobs">) {
  const decode = (t: number) => engine.tokenizer.decode([t], false);
  const tokens = d.tokenIds.map(decode);
  const lps = d.logprobs ?? [];
  let offset = 0;
  const textOffset = tokens.map((t) => {
    const at = offset;
    offset += t.length;
    return at;
  });
  const top = (i: number) => {
    const entries: Record<string, number> = {};
    for (const alt of d.topLogprobs?.[i] ?? []) entries[decode(alt.id)] ??= alt.logprob;
    entries[tokens[i]] ??= lps[i];
    return entries;
  };
  return {
    tokens,
    token_logprobs: lps,
    top_logprobs: tokens.map((_t, i) => top(i)),
    text_offset: textOffset,
  };
}

