// node-llama-cpp is an optional peer dependency (about 725 MB of prebuilt llama.cpp binaries), so it is
// loaded here, once, with one clear error when it is missing instead of Node's bare "cannot find package".

export type NodeLlamaCpp = typeof import("node-llama-cpp");

export const MISSING_NODE_LLAMA_CPP =
  "@glimpse/suffix-llama needs node-llama-cpp (^3.22.1), an optional peer dependency that is not installed: "
  + "run `npm install node-llama-cpp` (in the Glimpse repository: `npm run setup:llama`)";

function isMissingPackage(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e?.code === "ERR_MODULE_NOT_FOUND" && typeof e.message === "string" && e.message.includes("'node-llama-cpp'");
}

/** node-llama-cpp's module; throws an Error naming the install command when it is not installed. */
export async function loadNodeLlamaCpp(): Promise<NodeLlamaCpp> {
  try {
    return await import("node-llama-cpp");
  } catch (err) {
    if (isMissingPackage(err)) throw new Error(MISSING_NODE_LLAMA_CPP, { cause: err });
    throw err;
  }
}
