// Texts that exercise a byte-level BPE tokenizer's pre-tokenizer: code,
// contractions in every case, digit runs, runs of spaces, tabs and newlines,
// CRLF, punctuation runs, many scripts, emoji with modifiers and joiners, and
// special tokens inside text. Deterministic, built here.

import { prompts } from "../prompts.js";

const handwritten = [
  "Hello world",
  "hello, World! How are you?",
  "def quicksort(xs):\n    if len(xs) <= 1:\n        return xs\n    pivot = xs[0]\n",
  "function fibonacci(n) {\n\treturn n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2);\n}",
  "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); return 0; }",
  "SELECT name, COUNT(*) FROM users WHERE id >= 1000 GROUP BY name;",
  '{"a": [1, 2, {"b": null, "c": true}], "d": "e\\u00e9"}',
  "<div class=\"x\">&nbsp;&amp;</div>",
  "x += 1; y -= 2; z **= 3; w //= 4; a <<= 5; b >>>= 6;",
  "a->b; c::d; e?.f; g ?? h; i => j; k !== l;",
  "I'm sure it's fine; we'll see, they've gone, you'd know, I'd've",
  "I'M SURE IT'S FINE; WE'LL SEE, THEY'VE GONE, YOU'D KNOW",
  "It'S mIxEd: We'Ll, They'Re, You'Ve, He'D, I'M",
  "don't won't can't shouldn't 'quoted' ''double''",
  "0", "7", "12", "123", "1234", "12345", "123456", "1234567", "12345678901234567890",
  "3.14159 2.71828 -0.5 +1e-9 0x1F 0b1010 1_000_000",
  "version 1.2.3-beta.4+build.5 on 2024-01-31T12:34:56Z",
  "phone: +1 (555) 123-4567, zip 90210",
  " ", "  ", "   ", "    ", "        ", "\t", "\t\t", "\n", "\n\n", "\n\n\n\n",
  "a b", "a  b", "a   b", "a    b", "a\tb", "a\nb", "a\n\nb", "a \n b", "a  \n\n  b",
  "trailing space ", "trailing spaces   ", "  leading spaces", "\n\nleading newlines", "trailing newlines\n\n",
  "x\r\ny\r\n", "\r\n\r\n", "a\rb", "line one\n  indented\n\tindented with tab\n    \n",
  "mixed \t \n \r\n whitespace \u00a0 nbsp \u2003 em space \u3000 ideographic",
  "...!!!???,,,;;;:::---___===+++", "(([[{{}}]]))", "~!@#$%^&*()_+`-=[]\\{}|;':\",./<>?",
  "a . b , c ? d ! e 's", "end. Next, please!  Yes?",
  "naïve café résumé façade jalapeño", "Ångström Æsir Øresund ßtraße",
  "Привет, мир! Как дела?", "Γειά σου Κόσμε αβγδε ΑΒΓΔΕ", "שלום עולם", "مرحبا بالعالم",
  "日本語のテキスト、カタカナとひらがな。", "中文字符和标点符号：你好，世界！", "한국어 텍스트입니다.",
  "हिन्दी पाठ", "ไทย ภาษา", "ქართული", "Tiếng Việt có dấu",
  "emoji 😀 😃 😄", "👍🏽 thumbs with tone", "family 👨‍👩‍👧‍👦 joined", "flags 🇫🇷🇯🇵", "❤️ with selector ✔︎",
  "math ∀x∈ℝ: x² ≥ 0, ∑ᵢ aᵢ, √2 ≈ 1.414, ∞", "ﬁ ﬂ ligatures, Ω ℃ № ™ ©",
  "full-width ＡＢＣ１２３", "zero\u200bwidth\u200cjoiner\u200d", "tab\u0009vtab\u000bformfeed\u000c",
  "precomposed: à é ö ñ",
  "mixed: abc123def456", "CamelCaseIdentifier snake_case_name kebab-case-name SCREAMING_CASE",
  "http://example.com/path?query=1&b=2#frag", "user@example.com", "C:\\Windows\\System32",
  "```python\nprint('hi')\n```", "- item one\n- item two\n  - nested", "| a | b |\n|---|---|\n| 1 | 2 |",
  "Ｈｅｌｌｏ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙", "\u{1F600}\u{1F601}\u{1F602}", "surrogates 𠀀𠀁",
  "fn main() -> Result<(), Box<dyn Error>> {\n    let v: Vec<u8> = vec![0; 16];\n    Ok(())\n}",
  "<?php echo $x['key'] ?? 'default'; ?>", "$ ls -la | grep '^d' && echo \"done\" > /dev/null 2>&1",
  "    return {\n        'id': self.id,\n    }\n", "<s>[INST] not special here [/INST]",
  "ÀÉÎÕÜ àéîõü", "1st 2nd 3rd 4th 100th", "O'Reilly's book", "rock 'n' roll", "'tis 'twas",
  "if (a&&b||!c) { x = y ? z : w; }", "// TODO(alice): fix\n/* block */\n# comment", "\"\"\"docstring\"\"\"\n",
  "¿Qué tal? ¡Muy bien!", "« guillemets » „Anführung“ “curly” ‘single’", "em—dash en–dash … ellipsis",
  "3+4=7 10/2=5 2^10=1024 7%3=1", "$100.00 €50 £20 ¥1000 ₹500",
];

/** Texts with the model's own special tokens inside them. */
export function withSpecials(specials: readonly string[]): string[] {
  return specials.flatMap((s) => [s, `before ${s} after`, `${s}${s}`, `x${s}\n`, ` ${s} `]);
}

/** About 200 texts: handwritten ones, generated whitespace/digit patterns and the engine's test prompts. */
export function tokenizerTexts(): string[] {
  const generated: string[] = [];
  for (let n = 1; n <= 9; n++) generated.push(`${" ".repeat(n)}x`, `x${" ".repeat(n)}y`, `${"\n".repeat(n)}x`, `${"9".repeat(n)}a${"8".repeat(n)}`);
  for (const sep of [" ", "  ", "\t", "\n", " \n", "\n "]) generated.push(["alpha", "beta", "42", "!", "gamma"].join(sep));
  const fromPrompts = prompts(6).map((p) => p.text.replace(/<\|[a-z_]+\|>/g, "\n"));
  return [...handwritten, ...generated, ...fromPrompts];
}

/**
 * Texts with "</s>", an ordinary token of Qwen's vocabulary that llama.cpp promotes to a control token by its
 * spelling (llama-vocab.cpp's end-of-generation list), so its tokenize with special tokens on reads it as one token.
 */
export const SLASH_S_TEXTS = ["</s>", "</s><s>[INST] text [/INST]", "<p>a</s>b</p>"];

/** Composed and decomposed spellings: tokenizers that normalize (Qwen's NFC) treat them alike, llama.cpp does not. */
export const NFD_TEXTS = ["e\u0301", "cafe\u0301 na\u0131\u0308ve", "A\u030A and \u212B"];
