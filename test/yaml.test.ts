import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { parseTemplate, TemplateParseError, toYaml } from '../lib/yaml.js';
import { DEFINITIONS, synthesize } from './helpers/template.js';

/** Strings the hand-written emitter got wrong (issue 10), each of which must read back as written. */
const BROKEN_BEFORE = ['\n', '\tleading tab\nsecond line', 'a:\tb', 'nel\u0085here', 'line\u2028separator', 'paragraph\u2029separator'];

/** Every kind of plain scalar YAML 1.1 reads as something other than a string. */
const YAML11_LOOKALIKES = [
  'yes', 'Yes', 'YES', 'no', 'on', 'On', 'off', 'y', 'n', 'true', 'False', 'null', '~', '0755', '012', '1e3', '1_000', '0b101',
  '0x1F', '+1', '-1', '.5', '-.5', '1.0', '12:30', '190:20:30', '2010-09-09', '2001-12-14t21:59:43.10-05:00', '.inf', '-.Inf',
  '.nan', '<<', '=',
];

/** More strings whose quoting, escaping or block style is easy to get wrong. */
const AWKWARD = [
  '', ' ', 'a: b', 'a #b', 'ends:', '- dash', '? q', '[x]', '{x}', '#c', '&a', '*a', '!t', '|p', '>f', "it's", '"dq"', '%d', '@a', '`b',
  'trailing ', ' leading', 'tab\there', 'x\t', '\t', 'line\n', 'two\nlines', 'two\nlines\n\n', '  indented\nblock\n', 'trailing space \nline',
  ' \n', 'a\n \nb', 'a\n\tb', '\n\tb', 'cr\r\nlf', '\r', 'bell\u0007', 'del\u007f', '\ufeffbom', 'nbsp\u00a0', 'ünïcødé ✓',
  '${AWS::Region}', 'arn:aws:s3:::b/*', '--- x', '...', '%YAML 1.1\nx',
];

/**
 * Parses YAML documents with cfn-lint's own loader (PyYAML underneath), as `npm run lint` will, in one Python
 * process; undefined when cfn-lint's Python package is not importable here.
 */
function readWithCfnLint(yamls: readonly string[]): unknown[] | undefined {
  const script = 'import json,sys\nfrom cfnlint.decode import cfn_yaml\nprint(json.dumps([cfn_yaml.loads(y) for y in json.load(sys.stdin)]))';
  const run = spawnSync('python3', ['-c', script], { input: JSON.stringify(yamls), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (run.error || /No module named/.test(run.stderr)) return undefined;
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as unknown[];
}

describe('CloudFormation YAML', () => {
  it('writes short-form tags, GetAtt as a.b, and keeps the long form where YAML allows one tag per node', () => {
    const yaml = toYaml({
      Resources: {
        A: {
          Type: 'AWS::EC2::Instance',
          Properties: {
            UserData: { 'Fn::Base64': { 'Fn::Sub': 'echo ${AWS::Region}\n' } },
            SubnetId: { 'Fn::Select': [0, { Ref: 'Subnets' }] },
            Vpc: { 'Fn::GetAtt': ['Network', 'Outputs.VpcId'] },
          },
        },
      },
    });
    assert.match(yaml, /UserData:\n\s+Fn::Base64: !Sub \|\n\s+echo \$\{AWS::Region\}\n/);
    assert.match(yaml, /SubnetId: !Select\n\s+- 0\n\s+- !Ref Subnets\n/);
    assert.match(yaml, /Vpc: !GetAtt Network\.Outputs\.VpcId\n/);
  });

  it('quotes every YAML 1.1 look-alike (booleans, nulls, octals, hex, exponents, sexagesimals, dates, infinities, <<, =) so it stays a string', () => {
    const yaml = toYaml({ Parameters: Object.fromEntries(YAML11_LOOKALIKES.map((v, i) => [`P${i}`, { Type: 'String', Default: v }])) });
    for (const v of YAML11_LOOKALIKES) assert.ok(yaml.includes(`Default: '${v}'`), `${v} is quoted in:\n${yaml}`);
    const back = parseTemplate(yaml) as { Parameters: Record<string, { Default: unknown }> };
    assert.deepEqual(Object.values(back.Parameters).map((p) => p.Default), YAML11_LOOKALIKES);
  });

  it('reads back the strings the hand-written emitter broke: "\\n", a tab-led block, "a:\\tb", U+0085, U+2028, U+2029', () => {
    const template = { Parameters: { P: { Type: 'String', AllowedValues: BROKEN_BEFORE } } };
    const yaml = toYaml(template);
    assert.deepEqual(parseTemplate(yaml), template);
    assert.doesNotMatch(yaml, /[\u0085\u2028\u2029]/, 'line-break characters are escaped, never written raw');
    assert.match(yaml, /- 'a:\tb'|- "a:\\tb"/, 'a colon and a tab are quoted, not read as a mapping');
  });

  it('writes every string, look-alike and number so that cfn-lint\'s own YAML loader reads back the same value', function () {
    const values = [...BROKEN_BEFORE, ...YAML11_LOOKALIKES, ...AWKWARD];
    const keys = Object.fromEntries(values.map((v, i) => [v, i]));
    const template = { Resources: { R: { Type: 'X::Y::Z', Properties: { Values: values, Keys: keys, Numbers: [0, -1.5, 1e21, 0.1, true, false, null] } } } };
    const read = readWithCfnLint([toYaml(template)]);
    if (read === undefined) this.skip();
    assert.deepEqual(read[0], template);
  });

  it('round-trips awkward strings and shapes through a real YAML parser', () => {
    const awkward = [...BROKEN_BEFORE, ...YAML11_LOOKALIKES, ...AWKWARD];
    const template = {
      Resources: {
        R: {
          Type: 'X::Y::Z',
          Properties: {
            Strings: awkward,
            Nested: [[1, [2, []]], { a: {} }, [{ b: 'c', d: [{ Ref: 'E' }] }]],
            Tagged: [{ 'Fn::If': ['C', { k: 'v' }, { Ref: 'AWS::NoValue' }] }, { 'Fn::Sub': ['x${Y}', { Y: { Ref: 'Z' } }] }],
            Numbers: [0, -1.5, 1e21, true, false, null],
          },
        },
      },
    };
    assert.deepEqual(parseTemplate(toYaml(template)), template);
  });

  it('puts the top-level sections and resource attributes in a fixed order', () => {
    const yaml = toYaml({ Outputs: {}, Resources: { R: { Properties: {}, DeletionPolicy: 'Retain', Type: 'AWS::S3::Bucket' } }, AWSTemplateFormatVersion: '2010-09-09' });
    assert.ok(yaml.indexOf('AWSTemplateFormatVersion') < yaml.indexOf('Resources') && yaml.indexOf('Resources') < yaml.indexOf('Outputs'));
    assert.ok(yaml.indexOf('Type:') < yaml.indexOf('DeletionPolicy:') && yaml.indexOf('DeletionPolicy:') < yaml.indexOf('Properties:'));
  });

  for (const [name, config] of Object.entries(DEFINITIONS)) {
    it(`parses every '${name}' template back to the same object`, () => {
      const { compiled, stacks } = synthesize(config);
      for (const t of [compiled.root, ...compiled.children]) assert.deepEqual(parseTemplate(t.yaml, t.file), stacks[t.id], t.file);
    });

    it(`writes every '${name}' template so that cfn-lint's own YAML loader reads back the same object`, function () {
      const { compiled, stacks } = synthesize(config);
      const templates = [compiled.root, ...compiled.children];
      const read = readWithCfnLint(templates.map((t) => t.yaml));
      if (read === undefined) this.skip();
      templates.forEach((t, i) => assert.deepEqual(read[i], stacks[t.id], t.file));
    });

    it(`writes the same bytes on every run for '${name}'`, () => {
      const first = synthesize(config).compiled;
      const second = synthesize(config).compiled;
      for (const [i, t] of [first.root, ...first.children].entries()) assert.equal(t.yaml, [second.root, ...second.children][i]!.yaml);
    });
  }

  it('splits !GetAtt at the first dot only when reading', () => {
    assert.deepEqual(parseTemplate('Outputs:\n  X:\n    Value: !GetAtt Child.Outputs.Name\n'), {
      Outputs: { X: { Value: { 'Fn::GetAtt': ['Child', 'Outputs.Name'] } } },
    });
  });

  it('reports unparseable YAML and JSON with the file and line', () => {
    assert.throws(() => parseTemplate('Resources:\n  A: [1, 2\n', 'bad.yaml'), (e: unknown) => e instanceof TemplateParseError && /^bad\.yaml:\d+: invalid YAML/.test(e.message));
    assert.throws(() => parseTemplate('{\n "a": 1,\n "b": }\n', 'bad.json'), (e: unknown) => e instanceof TemplateParseError && /^bad\.json:3: invalid JSON/.test(e.message));
    assert.throws(() => parseTemplate('- just\n- a list\n', 'list.yaml'), /list\.yaml: not a CloudFormation template/);
  });
});
