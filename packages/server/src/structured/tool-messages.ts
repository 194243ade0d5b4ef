// Conversation messages -> what the chat template renders. An assistant
// message that made tool calls (content null) gets them written out as text,
// in the form tool_choice "required" makes the model write them.

import type { ChatMessageInput, ChatRequestMessage } from "../schemas/chat.js";

export function templateMessages(messages: readonly ChatRequestMessage[]): ChatMessageInput[] {
  return messages.map((m) => {
    const out: ChatMessageInput = { role: m.role, content: m.content ?? "" };
    if (m.name !== undefined) out.name = m.name;
    if (m.tool_call_id !== undefined) out.tool_call_id = m.tool_call_id;
    if (m.tool_calls?.length) {
      const calls = JSON.stringify(m.tool_calls.map((c) => ({ name: c.function.name, parameters: parseArguments(c.function.arguments) })));
      const text = typeof out.content === "string" ? out.content : out.content.map((p) => p.text).join("");
      out.content = text ? `${text}\n${calls}` : calls;
    }
    return out;
  });
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
