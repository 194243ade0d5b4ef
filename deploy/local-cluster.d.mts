// Types of deploy/local-cluster.mjs, for the TypeScript tests that import it.
import type { ChildProcess } from "node:child_process";

export const GLIMPSE_BIN: string;
export const EMBEDDED_MODEL: string;
export function findBinary(name: string): string;
export function freePort(): Promise<number>;

export interface LocalRedis {
  port: number;
  url: string;
  readonly pid: number | undefined;
  start(): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
  restart(options?: { downMs?: number }): Promise<void>;
}
export function startRedis(options: { dir: string; port?: number; appendonly?: boolean }): Promise<LocalRedis>;

export interface LocalReplica {
  name: string;
  port: number;
  url: string;
  log: string;
  child: ChildProcess;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
  kill(): Promise<void>;
}
export function startReplica(options: {
  dir: string; name: string; port?: number; model?: string; speculativeConfig?: string | null; redisUrl?: string; args?: string[];
}): Promise<LocalReplica>;

export interface LocalNginx {
  port: number;
  url: string;
  confFile: string;
  log: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}
export function startNginx(options: { dir: string; upstreamPorts: number[]; port?: number }): Promise<LocalNginx>;

export interface LocalCluster {
  dir: string;
  url: string;
  redis: LocalRedis;
  replicas: LocalReplica[];
  nginx: LocalNginx;
  stop(): Promise<void>;
}
export function startCluster(options?: {
  replicas?: number; shared?: boolean; appendonly?: boolean; port?: number; model?: string;
  speculativeConfig?: string | null; replicaArgs?: string[]; keepDir?: boolean;
}): Promise<LocalCluster>;
