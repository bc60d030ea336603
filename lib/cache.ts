/**
 * The content cache: results of deterministic work (cfn-guard runs, YAML emission), kept under a hash of
 * everything they depend on in `node_modules/.cache/dcos-cfn/<kind>/`, so unchanged input is not worked on
 * twice. `DCOS_CFN_CACHE=off` turns it off. Entries are written whole (temporary file, then rename); one that
 * cannot be read or parsed counts as absent; a read-only or full disk only means nothing is cached. Each
 * kind keeps at most `MAX_ENTRIES` entries: past that, the oldest written go until `PRUNED_TO` are left, so
 * the entries' ages are read once every `MAX_ENTRIES - PRUNED_TO` writes, not at every write (~3 ms each).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The cache folder (this file runs as `<project>/dist/lib/cache.js`). */
export const CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/dcos-cfn/', import.meta.url));

/** Entries kept per kind; about 100 KB each for YAML, a few KB for cfn-guard results. */
export const MAX_ENTRIES = 256;
/** Entries left when a kind is pruned. */
const PRUNED_TO = 192;

const cacheOn = () => process.env['DCOS_CFN_CACHE'] !== 'off';

/** The entry `name` of `kind` (a JSON value), or undefined when absent, unreadable or the cache is off. */
export function readCache<T>(kind: string, name: string): T | undefined {
  if (!cacheOn()) return undefined;
  try {
    return JSON.parse(readFileSync(join(CACHE_DIR, kind, `${name}.json`), 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Stores `value` as the entry `name` of `kind`; beyond MAX_ENTRIES, removes the oldest down to PRUNED_TO. */
export function writeCache(kind: string, name: string, value: unknown): void {
  if (!cacheOn()) return;
  const dir = join(CACHE_DIR, kind);
  try {
    mkdirSync(dir, { recursive: true });
    const temporary = join(dir, `.${name}.${process.pid}.tmp`);
    writeFileSync(temporary, JSON.stringify(value));
    renameSync(temporary, join(dir, `${name}.json`));
    const entries = readdirSync(dir).filter((f) => f.endsWith('.json'));
    if (entries.length <= MAX_ENTRIES) return;
    const byAge = entries
      .map((f) => ({ f, written: statSync(join(dir, f), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
      .sort((a, b) => a.written - b.written);
    for (const { f } of byAge.slice(0, entries.length - PRUNED_TO)) rmSync(join(dir, f), { force: true });
  } catch {
    // a read-only install just works every time
  }
}
