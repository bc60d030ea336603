import assert from 'node:assert/strict';
import { readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_DIR, MAX_ENTRIES, readCache, writeCache } from '../lib/cache.js';
import { compile } from '../lib/synth.js';
import { cachedParse, cachedYaml, yamlCacheKey } from '../lib/yaml-cache.js';
import { parseTemplate, toYaml } from '../lib/yaml.js';
import { DEFINITIONS } from './helpers/template.js';

/** Runs `fn` with DCOS_CFN_CACHE set to `value` (undefined: unset), restoring it after. */
function withCacheSetting<T>(value: string | undefined, fn: () => T): T {
  const previous = process.env['DCOS_CFN_CACHE'];
  if (value === undefined) delete process.env['DCOS_CFN_CACHE'];
  else process.env['DCOS_CFN_CACHE'] = value;
  try {
    return fn();
  } finally {
    if (previous === undefined) delete process.env['DCOS_CFN_CACHE'];
    else process.env['DCOS_CFN_CACHE'] = previous;
  }
}

describe('content cache', () => {
  const kind = `test-${process.pid}`;
  after(() => rmSync(join(CACHE_DIR, kind), { recursive: true, force: true }));

  it('reads back what it stored, treats an unreadable entry as absent, and stores nothing when off', () => {
    withCacheSetting(undefined, () => {
      writeCache(kind, 'a', { n: 1 });
      assert.deepEqual(readCache(kind, 'a'), { n: 1 });
      writeFileSync(join(CACHE_DIR, kind, 'b.json'), '{"n": 1');
      assert.equal(readCache(kind, 'b'), undefined);
    });
    withCacheSetting('off', () => {
      assert.equal(readCache(kind, 'a'), undefined);
      writeCache(kind, 'c', { n: 3 });
    });
    assert.equal(withCacheSetting(undefined, () => readCache(kind, 'c')), undefined);
  });

  it(`keeps at most ${MAX_ENTRIES} entries of a kind, dropping the oldest written`, () => {
    withCacheSetting(undefined, () => {
      for (let i = 0; i < MAX_ENTRIES + 5; i++) {
        writeCache(kind, `e${i}`, i);
        utimesSync(join(CACHE_DIR, kind, `e${i}.json`), i + 1, i + 1); // distinct ages, oldest first
      }
      const left = readdirSync(join(CACHE_DIR, kind)).filter((f) => f.endsWith('.json'));
      assert.ok(left.length <= MAX_ENTRIES, `${left.length} entries`);
      assert.ok(left.includes(`e${MAX_ENTRIES + 4}.json`) && !left.includes('e0.json'));
    });
  });

  for (const [name, config] of Object.entries(DEFINITIONS)) {
    it(`gives '${name}' the same YAML bytes from the cache as freshly written, and ignores a damaged entry`, () => {
      const fresh = withCacheSetting('off', () => compile(config));
      const cached = withCacheSetting(undefined, () => {
        compile(config);
        return compile(config);
      });
      for (const [i, t] of [fresh.root, ...fresh.children].entries()) assert.equal([cached.root, ...cached.children][i]!.yaml, t.yaml, t.file);

      const json = JSON.stringify(fresh.root.template);
      withCacheSetting(undefined, () => {
        writeCache('yaml', yamlCacheKey(json), { sha256: fresh.root.sha256, text: 'Resources: {}\n' });
        assert.equal(cachedYaml(json), toYaml(JSON.parse(json) as object));
        assert.equal(cachedYaml(json), fresh.root.yaml, 'the damaged entry was replaced');
      });
    });

    it(`reads every '${name}' template from the cache as the parser reads it`, () => {
      withCacheSetting(undefined, () => {
        for (const t of [compile(config).root, ...compile(config).children]) {
          const parsed = parseTemplate(t.yaml, t.file);
          assert.deepEqual(cachedParse(t.yaml, t.file), parsed, `${t.file}, first read`);
          assert.deepEqual(cachedParse(t.yaml, t.file), parsed, `${t.file}, from the cache`);
        }
      });
    });
  }
});
