/**
 * User data: every script is valid bash once CloudFormation has substituted its variables, and names only
 * variables that exist in its stack (cfn-lint checks the latter too; here we see the script itself).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allResources, DEFINITIONS, synthesize, type Json } from './helpers/template.js';

/** The `!Sub` script inside a `UserData: !Base64 ...`, wherever it sits (instance or launch template). */
function userDataScripts(stacks: Record<string, Json>): { id: string; script: string; stack: Json }[] {
  return allResources(stacks).flatMap(({ stack, id, resource }) => {
    const userData = resource.Properties?.UserData ?? resource.Properties?.LaunchTemplateData?.UserData;
    if (!userData) return [];
    const sub = userData['Fn::Base64']['Fn::Sub'];
    return [{ id, script: typeof sub === 'string' ? sub : sub[0], stack: stacks[stack]! }];
  });
}

for (const [name, config] of Object.entries(DEFINITIONS)) {
  describe(`user data of the '${name}' cluster`, () => {
    const { stacks } = synthesize(config);
    const scripts = userDataScripts(stacks);
    const dir = mkdtempSync(join(tmpdir(), 'dcos-userdata-'));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('has a script for every master, both agent groups, the VPN gateway and the admin instance', () => {
      const ids = scripts.map((s) => s.id).sort();
      const masters = Array.from({ length: config.masters.count }, (_, i) => `Master${i + 1}`);
      assert.deepEqual(ids, ['AdminInstance', ...masters, 'PrivateAgentLaunchTemplate', 'PublicAgentLaunchTemplate', 'VpnGateway'].sort());
    });

    it('is valid bash once CloudFormation substitutes its variables', () => {
      for (const { id, script } of scripts) {
        const file = join(dir, `${id}.sh`);
        writeFileSync(file, script.replace(/\$\{(?!!)[^}]+\}/g, 'substituted'));
        const check = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
        assert.equal(check.status, 0, `${id}: ${check.stderr}`);
        assert.ok(script.startsWith('#!/bin/bash\n'), id);
      }
    });

    it('substitutes only parameters, resources and pseudo parameters of its own stack', () => {
      for (const { id, script, stack } of scripts) {
        for (const [, variable] of script.matchAll(/\$\{(?!!)([^}]+)\}/g)) {
          const base = variable!.split('.')[0]!;
          const known = base.startsWith('AWS::') || base in (stack.Parameters ?? {}) || base in stack.Resources;
          assert.ok(known, `${id}: \${${variable}} is neither a parameter nor a resource of its stack`);
        }
      }
    });

    it('signals CloudFormation on success and on failure, naming its own resource', () => {
      for (const { id, script } of scripts) {
        const signalled = id.endsWith('LaunchTemplate') ? id.replace('LaunchTemplate', 'Group') : id;
        assert.ok(script.includes(`--resource '${signalled}'`), id);
        assert.match(script, /trap 'signal 1 /, id);
        assert.match(script, /\nsignal 0 /, id);
      }
    });
  });
}
