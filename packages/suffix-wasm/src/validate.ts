// Input checks with messages that name the field and what is allowed. The
// wasm side trusts its inputs, so nothing unchecked may reach it.

export class SuffixInputError extends RangeError {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "SuffixInputError";
  }
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value == null) return String(value);
  return typeof value;
}

export function isInt32(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX;
}

/** Token ids: an Int32Array, or an array-like of integers in int32 range. */
export function checkTokens(field: string, tokens: unknown): ArrayLike<number> {
  if (tokens instanceof Int32Array) return tokens;
  if (tokens == null || typeof tokens !== "object" || typeof (tokens as ArrayLike<number>).length !== "number") {
    throw new SuffixInputError(field, `must be an array of int32 token ids or an Int32Array, got ${describe(tokens)}`);
  }
  const arr = tokens as ArrayLike<unknown>;
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    if (!isInt32(v)) {
      throw new SuffixInputError(
        `${field}[${i}]`,
        `must be an integer token id in [${INT32_MIN}, ${INT32_MAX}], got ${describe(v)}`,
      );
    }
  }
  return arr as ArrayLike<number>;
}

export function checkToken(field: string, token: unknown): number {
  if (!isInt32(token)) {
    throw new SuffixInputError(field, `must be an integer token id in [${INT32_MIN}, ${INT32_MAX}], got ${describe(token)}`);
  }
  return token;
}

export function checkInt(field: string, value: unknown, min: number, max = INT32_MAX): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new SuffixInputError(field, `must be an integer in [${min}, ${max}], got ${describe(value)}`);
  }
  return value;
}

export function checkFinite(field: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    const range = min === -Infinity && max === Infinity ? "a finite number" : `a finite number in [${min}, ${max}]`;
    throw new SuffixInputError(field, `must be ${range}, got ${describe(value)}`);
  }
  return value;
}

export function checkBool(field: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw new SuffixInputError(field, `must be true or false, got ${describe(value)}`);
  return value;
}

/** Request ids: strings or numbers, as the caller likes. */
export type RequestId = string | number;

export function checkRequestId(field: string, id: unknown): RequestId {
  if (typeof id === "string" || (typeof id === "number" && Number.isFinite(id))) return id;
  throw new SuffixInputError(field, `must be a string or a finite number, got ${describe(id)}`);
}
