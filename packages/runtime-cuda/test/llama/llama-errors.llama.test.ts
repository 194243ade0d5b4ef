// Choosing the backend and the errors of the llama.cpp backend: a missing or
// corrupt .gguf, a backend that does not fit the path, options that apply to
// the other backend, node-llama-cpp not installed. (RemoteEngine on a GGUF
// file: llama-remote.llama.test.ts, whose main thread never loads llama.cpp.)
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine, GlimpseConfigError, ModelLoadError, type EngineOptions } from "../../dist/index.js";
import { REPO_ROOT } from "../model-dir.js";
import { EMBEDDED_DIR, tinyGguf, type TinyGguf } from "./tiny-gguf.js";

const PACKAGE = join(REPO_ROOT, "packages/runtime-cuda");
let gguf: TinyGguf;
beforeAll(() => {
  gguf = tinyGguf();
}, 120_000);
afterAll(() => gguf?.remove());

async function loadError(path: string, options: EngineOptions = {}): Promise<Error> {
  const err = await Engine.load(path, { intraOpThreads: 1, ...options }).then(async (e) => {
    await e.close();
    return null;
  }, (e: unknown) => e);
  if (!(err instanceof Error)) throw new Error(`Engine.load(${path}) did not fail`);
  return err;
}

describe("a .gguf file that cannot be run", () => {
  it("a missing file", async () => {
    const err = await loadError(join(gguf.work, "absent.gguf"));
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.message).toMatch(/GGUF file .*absent\.gguf does not exist/);
  });

  it("a file that is not GGUF", async () => {
    const file = join(gguf.work, "noise.gguf");
    writeFileSync(file, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
    const err = await loadError(file);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.message).toMatch(/is not a GGUF file: it does not start with the GGUF magic/);
  });

  it("a truncated GGUF file: llama.cpp's own reason", { timeout: 120_000 }, async () => {
    const file = join(gguf.work, "truncated.gguf");
    const whole = readFileSync(gguf.file);
    writeFileSync(file, whole.subarray(0, Math.floor(whole.length / 2)));
    const err = await loadError(file);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.message).toMatch(/llama\.cpp cannot load .*truncated\.gguf.*(not within the file bounds|corrupted or incomplete)/);
  });
});

describe("choosing the backend", () => {
  it("a .gguf file runs on llama.cpp and a folder on onnxruntime, by default or when named", { timeout: 120_000 }, async () => {
    for (const [path, backend] of [[gguf.file, "llama.cpp"], [EMBEDDED_DIR, "onnxruntime"]] as const) {
      for (const named of [undefined, "auto", backend] as const) {
        const e = await Engine.load(path, { backend: named, intraOpThreads: 1 });
        expect(e.backendName).toBe(backend);
        expect(e.provider.backend).toBe(backend);
        await e.close();
      }
    }
  });

  it("a backend that does not fit the path is an error naming `backend` and what fits", async () => {
    const onnxOnGguf = await loadError(gguf.file, { backend: "onnxruntime" });
    expect(onnxOnGguf).toBeInstanceOf(GlimpseConfigError);
    expect((onnxOnGguf as GlimpseConfigError).field).toBe("backend");
    expect(onnxOnGguf.message).toMatch(/is a GGUF file: use "llama\.cpp" or "auto"/);
    const llamaOnFolder = await loadError(EMBEDDED_DIR, { backend: "llama.cpp" });
    expect((llamaOnFolder as GlimpseConfigError).field).toBe("backend");
    expect(llamaOnFolder.message).toMatch(/runs \.gguf files.*is a folder/);
    const unknown = await loadError(gguf.file, { backend: "tensorrt" as never });
    expect((unknown as GlimpseConfigError).field).toBe("backend");
    expect(unknown.message).toMatch(/must be one of auto, onnxruntime, llama\.cpp/);
  });

  it("options of the other backend are errors naming them", async () => {
    const cases: [string, EngineOptions, string, RegExp][] = [
      [EMBEDDED_DIR, { gpuLayers: 4 }, "gpuLayers", /applies to the llama\.cpp backend/],
      [gguf.file, { gpuLayers: -1 }, "gpuLayers", /integer >= 0, "auto" or "max"/],
      [gguf.file, { dtype: "q4" }, "dtype", /applies to ONNX model folders/],
      [gguf.file, { graph: "onnx/model.onnx" }, "graph", /applies to ONNX model folders/],
      [gguf.file, { device: "webgpu" }, "device", /onnxruntime provider/],
    ];
    for (const [path, options, field, message] of cases) {
      const err = await loadError(path, options);
      expect(err, field).toBeInstanceOf(GlimpseConfigError);
      expect((err as GlimpseConfigError).field).toBe(field);
      expect(err.message).toMatch(message);
    }
  });

  it("gpuLayers 0 runs on the CPU and says so; device 'cuda' without a usable GPU is an error naming `device`", { timeout: 120_000 }, async () => {
    const cpu = await Engine.load(gguf.file, { gpuLayers: 0, intraOpThreads: 1 });
    expect(cpu.provider).toMatchObject({ provider: "cpu", backend: "llama.cpp" });
    expect(cpu.provider.reason).toMatch(/gpuLayers 0/);
    await cpu.close();
    if (existsSync("/dev/nvidia0")) return; // a GPU machine: 'cuda' may load there (scripts/device-check.sh)
    const err = await loadError(gguf.file, { device: "cuda" });
    expect((err as GlimpseConfigError).field).toBe("device");
    expect(err.message).toMatch(/'cuda' requested, but node-llama-cpp's CUDA build cannot load here/);
  });
});

describe("node-llama-cpp not installed", () => {
  it("loading a .gguf file fails with one error naming `npm run setup:llama`", { timeout: 120_000 }, async () => {
    // The built engine beside its dependencies, outside the repository: nothing there can resolve node-llama-cpp.
    const root = join(gguf.work, "no-llama");
    cpSync(join(PACKAGE, "dist"), join(root, "runtime/dist"), { recursive: true });
    writeFileSync(join(root, "runtime/package.json"), JSON.stringify({ type: "module" }));
    const deps = Object.keys((JSON.parse(readFileSync(join(PACKAGE, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies);
    for (const dep of deps) {
      mkdirSync(join(root, "node_modules", dep, ".."), { recursive: true });
      symlinkSync(realpathSync(join(REPO_ROOT, "node_modules", dep)), join(root, "node_modules", dep));
    }
    const entry = join(root, "runtime/dist/index.js");
    expect(() => createRequire(entry).resolve("node-llama-cpp")).toThrow(/Cannot find module/);
    const script = `import { Engine } from ${JSON.stringify(entry)};
      for (const path of [${JSON.stringify(gguf.file)}, ${JSON.stringify(EMBEDDED_DIR)}]) {
        try { const e = await Engine.load(path, { intraOpThreads: 1 }); console.log(JSON.stringify({ loaded: e.backendName })); await e.close(); }
        catch (err) { console.log(JSON.stringify({ name: err.name, message: err.message })); }
      }`;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { cwd: root });
    const [onGguf, onFolder] = stdout.trim().split("\n").map((l) => JSON.parse(l) as { name?: string; message?: string; loaded?: string });
    expect(onGguf.name).toBe("ModelLoadError");
    expect(onGguf.message).toMatch(/runs on llama\.cpp: install the optional node-llama-cpp with `npm run setup:llama`/);
    // The onnxruntime backend does not need it.
    expect(onFolder).toEqual({ loaded: "onnxruntime" });
  });
});
