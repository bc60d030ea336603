/**
 * YAML through the content cache (`cache.ts`): a template is serialized once per content, and a template file
 * parsed once per content, so a command over an unchanged `out/` (synth again, audit, deploy, diff, package,
 * diagram) neither writes nor parses YAML, nor loads the `yaml` library. Entries key on the content and on
 * `yamlFingerprint()` (this project's YAML code and the library's version); an entry whose text does not match
 * its recorded hash is ignored. The tests prove what is cached: every template reads back to the same object.
 */
import { readCache, writeCache } from './cache.js';
import { sha256 } from './manifest.js';
import { parseTemplate, toYaml, yamlFingerprint } from './yaml.js';

interface Entry {
  readonly sha256: string;
  readonly text: string;
}

const entryText = (entry: Entry | undefined) =>
  entry && typeof entry.text === 'string' && sha256(entry.text) === entry.sha256 ? entry.text : undefined;

/** The content-cache entry name of a template's YAML, from its JSON. */
export const yamlCacheKey = (json: string) => sha256(`${yamlFingerprint()}\nwrite\n${json}`);

/** The YAML of a template given as its JSON (`JSON.stringify` of the template object): `toYaml`, cached. */
export function cachedYaml(json: string): string {
  const key = yamlCacheKey(json);
  const hit = entryText(readCache<Entry>('yaml', key));
  if (hit !== undefined) return hit;
  const yaml = toYaml(JSON.parse(json) as object);
  writeCache('yaml', key, { sha256: sha256(yaml), text: yaml });
  return yaml;
}

/**
 * A template file's text parsed to its long-form object: `parseTemplate`, cached for YAML (JSON is parsed
 * directly, as fast as the cache). Throws what `parseTemplate` throws; failures are not cached.
 */
export function cachedParse(text: string, file: string): Record<string, unknown> {
  if (text.trimStart().startsWith('{')) return parseTemplate(text, file);
  const key = sha256(`${yamlFingerprint()}\nread\n${text}`);
  const hit = entryText(readCache<Entry>('yaml-read', key));
  if (hit !== undefined) return JSON.parse(hit) as Record<string, unknown>;
  const template = parseTemplate(text, file);
  const json = JSON.stringify(template);
  writeCache('yaml-read', key, { sha256: sha256(json), text: json });
  return template;
}
