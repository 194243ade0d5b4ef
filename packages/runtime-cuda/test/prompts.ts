// Prompts of the kinds Glimpse serves: code, JSON, file rewrites with a small
// change, fill-in-the-middle, and plain text. Deterministic, built here.

const names = ["user", "order", "item", "config", "event", "session", "account", "product", "invoice", "task"];
const fields = ["id", "name", "email", "status", "createdAt", "total", "count", "enabled", "tags", "owner"];

function codePrompt(i: number): string {
  const n = names[i % names.length];
  const f = fields[(i * 3) % fields.length];
  return `export interface ${n[0].toUpperCase()}${n.slice(1)} {\n  ${f}: string;\n  ${fields[(i + 1) % fields.length]}: number;\n}\n\nexport function get${f[0].toUpperCase()}${f.slice(1)}(${n}) {\n  return ${n}.${f};\n}\n\nexport function `;
}

function jsonPrompt(i: number): string {
  const rows = [0, 1, 2].map((k) => `  {"id": ${i * 10 + k}, "${fields[k]}": "${names[(i + k) % names.length]}", "${fields[k + 3]}": ${k * 7}}`);
  return `[\n${rows.join(",\n")},\n  {"id": ${i * 10 + 3}, "`;
}

function rewritePrompt(i: number): string {
  const a = names[i % names.length];
  const b = names[(i + 4) % names.length];
  const file = `const ${a} = load("${a}.json");\nfunction use${a}(x) {\n  return ${a}[x] ?? null;\n}\nexport { ${a}, use${a} };\n`;
  return `<|file|>${file}<|edit|>Rename \`${a}\` to \`${b}\`.<|rewrite|>`;
}

function fimPrompt(i: number): string {
  const n = names[i % names.length];
  return `<|fim_prefix|>function total(${n}s) {\n  let sum = 0;\n  for (const ${n} of ${n}s) {\n<|fim_suffix|>\n  }\n  return sum;\n}\n<|fim_middle|>`;
}

function textPrompt(i: number): string {
  return `// ${["Returns", "Computes", "Loads", "Checks", "Formats"][i % 5]} the ${names[i % names.length]} ${fields[i % fields.length]} for the current request.\n`;
}

export const PROMPT_KINDS = { code: codePrompt, json: jsonPrompt, rewrite: rewritePrompt, fim: fimPrompt, text: textPrompt };

/** `perKind` prompts of each kind, in a fixed order. */
export function prompts(perKind: number): { kind: string; text: string }[] {
  const out: { kind: string; text: string }[] = [];
  for (let i = 0; i < perKind; i++) {
    for (const [kind, make] of Object.entries(PROMPT_KINDS)) out.push({ kind, text: make(i) });
  }
  return out;
}
