import assert from 'node:assert/strict';
import { parseTemplate, TemplateParseError, toYaml } from '../lib/yaml.js';
import { DEFINITIONS, synthesize } from './helpers/template.js';

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

  it('quotes YAML 1.1 booleans, nulls, octals and dates so they stay strings', () => {
    const values = ['on', 'off', 'yes', 'no', 'y', 'n', 'true', 'Off', 'null', '~', '2010-09-09', '012', '0x1F', '1e3', '1:20'];
    const yaml = toYaml({ Parameters: Object.fromEntries(values.map((v, i) => [`P${i}`, { Type: 'String', Default: v }])) });
    for (const v of values) assert.ok(yaml.includes(`Default: '${v}'`), `${v} is quoted in:\n${yaml}`);
    const back = parseTemplate(yaml) as { Parameters: Record<string, { Default: unknown }> };
    assert.deepEqual(Object.values(back.Parameters).map((p) => p.Default), values);
  });

  it('round-trips awkward strings and shapes through a real YAML parser', () => {
    const awkward = [
      '', ' ', 'a: b', 'a #b', 'ends:', '- dash', '? q', '[x]', '{x}', '#c', '&a', '*a', '!t', '|p', '>f', "it's", '"dq"', '%d', '@a', '`b',
      'trailing ', ' leading', 'tab\there', 'line\n', 'two\nlines', 'two\nlines\n\n', '  indented\nblock\n', 'trailing space \nline',
      'bell\u0007', 'ünïcødé ✓', '${AWS::Region}', 'arn:aws:s3:::b/*', '-1', '+1', '.5', '.inf', '1_000', '0b101', '=', '<<',
    ];
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
