import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { messageOf } from '../errorMessage.js';
import { type Config, configSchema } from './schema.js';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEFAULT_CONFIG_FILE = resolve(PROJECT_ROOT, 'config/default.json');

/** A configuration that cannot be used; `message` names every bad field and what was expected. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    readonly issues: string[] = [],
  ) {
    super(message);
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export type ConfigSources = {
  /** An extra file over config/default.json (`--config`). */
  file?: string;
  /** Environment; `TICKSTREAM_A__B=v` sets `a.b` (JSON values are parsed, others kept as strings). */
  env?: NodeJS.ProcessEnv;
  /** Overrides from flags, as dotted paths: `{ 'server.port': 3001 }`. */
  overrides?: Record<string, unknown>;
};

/** Layers, lowest first: config/default.json, --config file, TICKSTREAM_* environment, flags. */
export function loadConfig(sources: ConfigSources = {}): Config {
  let merged = readJsonFile(DEFAULT_CONFIG_FILE);
  if (sources.file) merged = deepMerge(merged, readJsonFile(resolve(sources.file)));
  for (const [path, value] of envOverrides(sources.env ?? {})) merged = setPath(merged, path, value);
  for (const [path, value] of Object.entries(sources.overrides ?? {})) {
    if (value !== undefined) merged = setPath(merged, path, value as Json);
  }
  return parseConfig(merged);
}

export function parseConfig(input: unknown): Config {
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  throw invalidConfig(result.error.issues.flatMap(describeIssue));
}

/** The error for a configuration that failed its checks: one line per issue, each naming its field. */
export function invalidConfig(issues: string[]): ConfigError {
  return new ConfigError(`invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`, issues);
}

/** Settings of earlier versions, and what to do instead: a config that still has one is told so. */
const RETIRED: Record<string, string> = {
  'pipeline.conflation':
    "removed: delivery is always one frame per socket per interval (a quiet symbol's update still goes at once: pipeline.promptAfterMs)",
  'cluster.redisUrl': 'renamed to cluster.redis (a URL, or a list of Redis Cluster nodes)',
  'cluster.publish': 'removed: ingest publishes each symbol some gateway watches, once per quote',
};

function describeIssue(issue: z.core.$ZodIssue): string[] {
  const field = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => {
      const path = issue.path.length ? `${field}.${k}` : k;
      return `${path}: ${RETIRED[path] ?? 'unknown field'}`;
    });
  }
  // A record key that failed: its own check's message says what was expected.
  const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
  return [`${field}: ${message.replace(/^Invalid (input|option): /, '')}`];
}

function readJsonFile(file: string): JsonObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${messageOf(err)}`);
  }
  try {
    const value = JSON.parse(text) as Json;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new ConfigError(`config file ${file}: expected a JSON object at the top level`);
    }
    return value;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`config file ${file} is not valid JSON: ${messageOf(err)}`);
  }
}

const ENV_PREFIX = 'TICKSTREAM_';
/**
 * TICKSTREAM_* variables that are not settings: the --config file, and `tickstream watch`'s server and token
 * (README), which the shell that starts the server may well have set too.
 */
const NOT_SETTINGS = new Set(['CONFIG', 'URL', 'TOKEN']);
/** Short names for the settings people change most. */
const ENV_ALIASES: Record<string, string> = {
  PORT: 'server.port',
  HOST: 'server.host',
  LOG_LEVEL: 'log.level',
};

function envOverrides(env: NodeJS.ProcessEnv): [string, Json][] {
  const out: [string, Json][] = [];
  for (const [key, raw] of Object.entries(env)) {
    if (!key.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const name = key.slice(ENV_PREFIX.length);
    if (NOT_SETTINGS.has(name)) continue;
    const path =
      ENV_ALIASES[name] ??
      name
        .split('__')
        .map((part) => part.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()))
        .join('.');
    out.push([path, parseScalar(raw)]);
  }
  return out;
}

/** `3001` -> 3001, `true` -> true, `[1,2]` -> [1,2], anything else stays a string. */
export function parseScalar(raw: string): Json {
  try {
    return JSON.parse(raw) as Json;
  } catch {
    return raw;
  }
}

function setPath(target: JsonObject, path: string, value: Json): JsonObject {
  const keys = path.split('.');
  const root: JsonObject = { ...target };
  let node = root;
  for (const key of keys.slice(0, -1)) {
    const child = node[key];
    const copy: JsonObject = child && typeof child === 'object' && !Array.isArray(child) ? { ...child } : {};
    node[key] = copy;
    node = copy;
  }
  node[keys[keys.length - 1] as string] = value;
  return root;
}

/** Objects merge key by key; arrays and scalars are replaced. */
function deepMerge(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] =
      value &&
      prev &&
      typeof value === 'object' &&
      typeof prev === 'object' &&
      !Array.isArray(value) &&
      !Array.isArray(prev)
        ? deepMerge(prev, value)
        : value;
  }
  return out;
}
