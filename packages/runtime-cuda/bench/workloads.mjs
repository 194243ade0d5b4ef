// The four workloads of the end-to-end bench, built from fixed text so runs
// are comparable. Each entry: { name, prompts: string[], maxTokens }.

const FILES = [
  `import { readFile } from "node:fs/promises";

export interface Settings {
  port: number;
  host: string;
  retries: number;
}

const defaults: Settings = { port: 8080, host: "localhost", retries: 3 };

export async function loadSettings(path: string): Promise<Settings> {
  const text = await readFile(path, "utf8");
  const parsed = JSON.parse(text);
  return { ...defaults, ...parsed };
}

export function describe(settings: Settings): string {
  return \`\${settings.host}:\${settings.port} (\${settings.retries} retries)\`;
}
`,
  `function parseLine(line) {
  const parts = line.split(",");
  return { name: parts[0], count: Number(parts[1]) };
}

function parseAll(text) {
  const rows = [];
  for (const line of text.split("\\n")) {
    if (line.trim() === "") continue;
    rows.push(parseLine(line));
  }
  return rows;
}

module.exports = { parseLine, parseAll };
`,
  `export class Counter {
  constructor(start = 0) {
    this.value = start;
  }

  increment(step = 1) {
    this.value += step;
    return this.value;
  }

  reset() {
    this.value = 0;
  }
}
`,
];

const EDITS = [
  ["Settings", "Options"],
  ["parseLine", "parseRow"],
  ["Counter", "Tally"],
  ["defaults", "fallback"],
  ["rows", "records"],
  ["value", "count"],
];

export const WORKLOADS = [
  {
    name: "rewrite",
    maxTokens: 320,
    prompts: EDITS.map(([from, to], i) => `<|file|>${FILES[i % FILES.length]}<|edit|>Rename \`${from}\` to \`${to}\`.<|rewrite|>`),
  },
  {
    name: "code",
    maxTokens: 128,
    prompts: [
      "import express from \"express\";\n\nconst app = express();\napp.use(express.json());\n\napp.get(\"/users\", async (req, res) => {\n",
      "export function debounce(fn, wait) {\n  let timer;\n  return function (...args) {\n",
      "class LinkedList {\n  constructor() {\n    this.head = null;\n    this.size = 0;\n  }\n\n  add(value) {\n",
      "export async function fetchJson(url, options = {}) {\n  const response = await fetch(url, options);\n",
      "function groupBy(items, key) {\n  const groups = {};\n  for (const item of items) {\n",
      "import { useState, useEffect } from \"react\";\n\nexport function useWindowSize() {\n",
    ],
  },
  {
    name: "json",
    maxTokens: 160,
    prompts: [
      "[\n  {\"id\": 1, \"name\": \"alice\", \"email\": \"alice@example.com\", \"active\": true},\n  {\"id\": 2, \"name\": \"bob\", \"email\": \"bob@example.com\", \"active\": false},\n  {\"id\": 3, \"name\": \"",
      "{\n  \"name\": \"my-app\",\n  \"version\": \"1.0.0\",\n  \"scripts\": {\n    \"build\": \"tsc\",\n    \"test\": \"vitest run\"\n  },\n  \"dependencies\": {\n",
      "{\"orders\": [{\"orderId\": \"A-100\", \"items\": 3, \"total\": 42.5, \"status\": \"shipped\"}, {\"orderId\": \"A-101\", \"items\": 1, \"total\": 9.99, \"status\": \"",
      "{\n  \"compilerOptions\": {\n    \"target\": \"ES2022\",\n    \"module\": \"NodeNext\",\n",
      "[\n  {\"event\": \"click\", \"ts\": 1700000000, \"user\": 17},\n  {\"event\": \"view\", \"ts\": 1700000004, \"user\": 17},\n  {\"event\": \"",
      "{\"users\": [{\"id\": 1, \"roles\": [\"admin\", \"editor\"]}, {\"id\": 2, \"roles\": [\"",
    ],
  },
  {
    name: "text",
    maxTokens: 128,
    prompts: [
      "/**\n * This module explains how the cache works. It keeps\n",
      "// TODO: explain why the retry loop waits before",
      "# Getting started\n\nThis project",
      "// The scheduler keeps a queue of pending jobs and",
      "/* Notes on the design: requests are grouped",
      "## Why\n\nThe old implementation",
    ],
  },
];
