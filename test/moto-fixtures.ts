/**
 * The fixture cluster in test/fixtures/deploy/cluster, written out like synth would: root.yaml with
 * content-hash TemplateURLs and manifest.json. `edit` changes a nested template first, to make an
 * update of one nested stack.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256, templateKey } from '../lib/manifest.js';

export const FIXTURE = fileURLToPath(new URL('../../test/fixtures/deploy/cluster', import.meta.url));
const NESTED = { Network: 'network.yaml', Logs: 'logs.yaml' } as const;

export function writeCluster(edit: (file: string, text: string) => string = (_, t) => t, dir = mkdtempSync(join(tmpdir(), 'deploy-out-'))): string {
  let root = readFileSync(join(FIXTURE, 'root.tmpl.yaml'), 'utf8');
  const stacks: Record<string, { file: string; sha256: string }> = {};
  for (const [id, file] of Object.entries(NESTED)) {
    const text = edit(file, readFileSync(join(FIXTURE, file), 'utf8'));
    writeFileSync(join(dir, file), text);
    const hash = sha256(text);
    stacks[id] = { file, sha256: hash };
    root = root.replace(`@${file}@`, templateKey(file, hash));
  }
  const rootText = edit('root.yaml', root);
  writeFileSync(join(dir, 'root.yaml'), rootText);
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify({ root: 'root.yaml', rootSha256: sha256(rootText), cluster: 'fixture', stacks }, null, 2)}\n`);
  copyFileSync(join(FIXTURE, 'params.json'), join(dir, 'params.json'));
  return dir;
}
