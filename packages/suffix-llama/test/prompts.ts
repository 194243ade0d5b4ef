// Prompts shaped like the workloads suffix decoding is for: a file rewritten with one edit (the output repeats
// the input) and JSON records (the output repeats its own structure). The embedded model's rewrite markers
// (<|file|>, <|edit|>, <|rewrite|>) are special tokens: tokenize with specialTokens = true.

const FILE = `export interface Settings {
  port: number;
  host: string;
  retries: number;
}

const defaults: Settings = { port: 8080, host: "localhost", retries: 3 };

export function describe(settings: Settings): string {
  return settings.host + ":" + settings.port;
}
`;

export const REWRITE_PROMPTS = [
  `<|file|>${FILE}<|edit|>Rename \`Settings\` to \`Options\`.<|rewrite|>`,
  `<|file|>${FILE}<|edit|>Rename \`defaults\` to \`fallback\`.<|rewrite|>`,
];

export const JSON_PROMPTS = [
  "[\n  {\"id\": 1, \"name\": \"alice\", \"email\": \"alice@example.com\", \"active\": true},\n"
    + "  {\"id\": 2, \"name\": \"bob\", \"email\": \"bob@example.com\", \"active\": false},\n  {\"id\": 3, \"name\": \"",
  "{\"orders\": [{\"orderId\": \"A-100\", \"items\": 3, \"total\": 42.5, \"status\": \"shipped\"}, "
    + "{\"orderId\": \"A-101\", \"items\": 1, \"total\": 9.99, \"status\": \"",
];
