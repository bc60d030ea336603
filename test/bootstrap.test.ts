/**
 * User data, read as programs: each is a shell file under stacks/userdata, put into Fn::Sub whole; once
 * CloudFormation has substituted its variables it is valid bash that shellcheck passes without a warning, it names
 * only variables its stack has, it fits EC2's limit, and it signals its own resource. (test/boot/ runs them.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { USER_DATA_LIMIT } from '../stacks/bootstrap.js';
import { DEFINITIONS } from './helpers/template.js';
import { exampleValues, resolveUserData, signalledResource, subReferences, synthesizedTemplates, userDataPrograms } from './boot/user-data.js';

const shellcheckAvailable = spawnSync('shellcheck', ['--version'], { stdio: 'ignore' }).status === 0;

for (const [name, config] of Object.entries(DEFINITIONS)) {
  describe(`user data of the '${name}' cluster`, () => {
    const templates = synthesizedTemplates(config);
    const programs = userDataPrograms(templates);
    const values = exampleValues(templates);

    it('has a program for every master, both agent groups, the VPN gateway and the admin instance', () => {
      const ids = programs.map((p) => p.id).sort();
      const masters = Array.from({ length: config.masters.count }, (_, i) => `Master${i + 1}`);
      assert.deepEqual(ids, ['AdminInstance', ...masters, 'PrivateAgentLaunchTemplate', 'PublicAgentLaunchTemplate', 'VpnGateway'].sort());
    });

    it('is the shell files under stacks/userdata, whole, behind a shebang', () => {
      const file = (f: string) => readFileSync(`stacks/userdata/${f}`, 'utf8');
      for (const { id, text } of programs) {
        const part = id === 'VpnGateway' ? 'vpn-gateway.sh' : id === 'AdminInstance' ? 'dcos-cli.sh' : 'dcos-node.sh';
        assert.equal(text, `${file('common.sh')}\n${file(part)}`, id);
        assert.ok(text.startsWith('#!/bin/bash\n'), id);
      }
    });

    it('substitutes only its variables and the parameters, resources and pseudo parameters of its own stack', () => {
      for (const program of programs) {
        for (const ref of subReferences(program.text)) {
          const known = ref in program.variables || ref.startsWith('AWS::') || ref in (program.template.Parameters ?? {}) || ref in program.template.Resources;
          assert.ok(known, `${program.id}: \${${ref}} is unknown`);
        }
        for (const variable of Object.keys(program.variables)) {
          assert.ok(subReferences(program.text).includes(variable), `${program.id}: variable ${variable} is never used`);
        }
      }
    });

    it('is valid bash once CloudFormation substitutes its variables, and fits in 16 KB', () => {
      for (const program of programs) {
        const script = resolveUserData(program, values);
        assert.doesNotMatch(script, /\$\{[A-Za-z]+::?[A-Za-z]+\}/, program.id);
        const check = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
        assert.equal(check.status, 0, `${program.id}: ${check.stderr}`);
        assert.ok(Buffer.byteLength(script) <= USER_DATA_LIMIT, `${program.id}: ${Buffer.byteLength(script)} bytes`);
      }
    });

    it('passes shellcheck without a warning', function () {
      if (!shellcheckAvailable) {
        console.log('      notice: shellcheck is not installed (Debian package shellcheck); skipped');
        return this.skip();
      }
      for (const program of programs) {
        const check = spawnSync('shellcheck', ['--shell=bash', '--severity=style', '--format=gcc', '-'], { input: resolveUserData(program, values), encoding: 'utf8' });
        assert.equal(check.status, 0, `${program.id}:\n${check.stdout}${check.stderr}`);
      }
    });

    it('signals its own resource, in its own stack', () => {
      for (const program of programs) {
        assert.equal(program.variables['SignalResource'], signalledResource(program), program.id);
        assert.ok(program.template.Resources[signalledResource(program)].CreationPolicy?.ResourceSignal, program.id);
      }
    });
  });
}

