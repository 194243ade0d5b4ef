#!/usr/bin/env node
// Installs code-server 4.100.3 (VS Code 1.100.3, the newest that runs on Node 20)
// into packages/vscode-ext/.cache/code-server, without its postinstall (which
// downloads from GitHub, unreachable here). Steps follow
// shared/notes/vscode-e2e.md. Needs the Debian packages in APT_PACKAGES; run as
// root, it apt-get installs the missing ones.
// Idempotent: a finished install leaves a stamp file and is reused.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync, copyFileSync, chmodSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const CODE_SERVER_VERSION = "4.100.3";
const here = dirname(fileURLToPath(import.meta.url));
export const cacheDir = join(here, "..", ".cache");
export const installDir = join(cacheDir, "code-server");
export const codeServerBin = join(installDir, "node_modules", "code-server", "out", "node", "entry.js");
const stamp = join(installDir, `.installed-${CODE_SERVER_VERSION}`);

/** Debian packages: headers for code-server's native modules, ripgrep (its search), Chromium (the browser Playwright drives). */
export const APT_PACKAGES = ["libkrb5-dev", "libxkbfile-dev", "libsecret-1-dev", "libx11-dev", "pkg-config", "build-essential", "python3", "ripgrep", "chromium"];

function sh(cmd, args, cwd, extraEnv = {}) {
  const env = {
    ...process.env,
    ...extraEnv,
    npm_config_nodedir: "/usr", // node-gyp builds against the local Node headers (no download)
    npm_config_yes: "true", // node-pty's install runs npx
    npm_config_unsafe_perm: "true",
    npm_config_fund: "false",
    npm_config_audit: "false",
    npm_config_update_notifier: "false",
  };
  // npm walks up to the monorepo root from inside the workspace; a
  // --prefix install in a folder with its own package.json stays local.
  process.stderr.write(`[setup] (${cwd}) ${cmd} ${args.join(" ")}\n`);
  execFileSync(cmd, args, { cwd, env, stdio: ["ignore", "inherit", "inherit"] });
}

function which(bin) {
  try {
    return execFileSync("which", [bin], { encoding: "utf8" }).trim();
  } catch {
    return null;
  }
}

function link(target, path) {
  rmSync(path, { force: true, recursive: false });
  symlinkSync(target, path);
}

export function setup() {
  mkdirSync(installDir, { recursive: true });
  if (!which("rg") || !existsSync("/usr/bin/chromium") || !existsSync("/usr/include/gssapi/gssapi.h")) {
    // As root (CI), install what is missing; otherwise say what to install.
    if (process.getuid?.() !== 0) throw new Error(`missing system packages: sudo apt-get install -y ${APT_PACKAGES.join(" ")}`);
    sh("apt-get", ["update", "-q"], cacheDir, { DEBIAN_FRONTEND: "noninteractive" });
    sh("apt-get", ["install", "-y", "-q", ...APT_PACKAGES], cacheDir, { DEBIAN_FRONTEND: "noninteractive" });
  }
  if (existsSync(stamp)) {
    process.stderr.write(`[setup] code-server ${CODE_SERVER_VERSION} already installed in ${installDir}\n`);
    return;
  }
  const rg = which("rg");
  const t0 = Date.now();
  // A private package.json keeps npm from treating this folder as part of the workspace.
  writeFileSync(join(installDir, "package.json"), JSON.stringify({ name: "glimpse-e2e-code-server", private: true }, null, 2));
  sh("npm", ["install", "--no-save", "--ignore-scripts", "--no-package-lock", `code-server@${CODE_SERVER_VERSION}`], installDir);
  sh("npm", ["rebuild", "argon2"], installDir);

  const cs = join(installDir, "node_modules", "code-server");
  const vs = join(cs, "lib", "vscode");
  // What code-server's postinstall does, minus the downloads.
  sh("npm", ["install", "--omit=dev", "--ignore-scripts", "--no-package-lock"], vs);
  const rgDir = join(vs, "node_modules", "@vscode", "ripgrep", "bin");
  mkdirSync(rgDir, { recursive: true });
  copyFileSync(rg, join(rgDir, "rg"));
  chmodSync(join(rgDir, "rg"), 0o755);
  sh("npm", ["rebuild"], vs);
  link("node_modules", join(vs, "node_modules.asar"));
  link("code-linux.sh", join(vs, "bin", "remote-cli", "code-server"));
  link("browser-linux.sh", join(vs, "bin", "helpers", "browser.sh"));
  sh("npm", ["install", "--omit=dev", "--no-package-lock"], join(vs, "extensions"));

  writeFileSync(stamp, new Date().toISOString() + "\n");
  process.stderr.write(`[setup] code-server ${CODE_SERVER_VERSION} installed in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) setup();
