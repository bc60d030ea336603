/**
 * CloudFormation YAML: written in short form (`!Ref`, `!GetAtt a.b`, `!Sub`, ...), YAML 1.1 so that
 * `on`, `no` and `2010-09-09` stay strings, fixed key order at the top, same bytes on every run.
 * `parseTemplate` reads it back (and JSON, and foreign YAML templates) to the long-form object.
 */
import { Document, Pair, parse, Scalar, YAMLMap, YAMLSeq, type Node, type ScalarTag, type CollectionTag } from 'yaml';

/** Intrinsics that have a short form, by long name. `Ref` and `Condition` have no `Fn::` prefix. */
const SHORT_FORMS = [
  'Ref', 'Condition', 'Fn::Base64', 'Fn::Cidr', 'Fn::FindInMap', 'Fn::GetAtt', 'Fn::GetAZs', 'Fn::ImportValue',
  'Fn::Join', 'Fn::Select', 'Fn::Split', 'Fn::Sub', 'Fn::Transform', 'Fn::And', 'Fn::Equals', 'Fn::If', 'Fn::Not',
  'Fn::Or', 'Fn::Length', 'Fn::ToJsonString',
] as const;

const shortTag = (longName: string) => `!${longName.replace(/^Fn::/, '')}`;

const TOP_LEVEL_ORDER = [
  'AWSTemplateFormatVersion', 'Description', 'Metadata', 'Transform', 'Parameters', 'Rules', 'Mappings',
  'Conditions', 'Resources', 'Outputs',
];
const RESOURCE_ORDER = [
  'Type', 'Condition', 'DependsOn', 'Metadata', 'CreationPolicy', 'UpdatePolicy', 'DeletionPolicy',
  'UpdateReplacePolicy', 'Properties',
];

function ordered(obj: Record<string, unknown>, order: readonly string[]): [string, unknown][] {
  const rank = (k: string) => (order.includes(k) ? order.indexOf(k) : order.length);
  return Object.entries(obj)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => rank(a) - rank(b));
}

/** The single intrinsic key of `{ "Fn::X": ... }` / `{ Ref: ... }`, if `value` is one. */
function intrinsicName(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  return (SHORT_FORMS as readonly string[]).includes(keys[0]!) ? keys[0] : undefined;
}

/** Builds the YAML node for a plain (JSON-like) value, turning intrinsics into short-form tags. */
function toNode(value: unknown, context: 'template' | 'resources' | 'resource' | 'plain'): Node {
  if (value === null || typeof value !== 'object') return new Scalar(value);
  if (Array.isArray(value)) {
    const seq = new YAMLSeq();
    for (const item of value) seq.items.push(toNode(item, 'plain'));
    return seq;
  }
  const obj = value as Record<string, unknown>;
  const name = context === 'plain' ? intrinsicName(obj) : undefined;
  if (name !== undefined) {
    const arg = obj[name];
    // YAML allows one tag per node: `!Base64 !Sub x` is invalid, so an intrinsic whose argument is itself an
    // intrinsic keeps the long form on the outside (`Fn::Base64: !Sub x`).
    if (intrinsicName(arg) === undefined) {
      const node =
        name === 'Fn::GetAtt' && Array.isArray(arg) && arg.length === 2 && arg.every((a) => typeof a === 'string')
          ? new Scalar(`${arg[0]}.${arg[1]}`)
          : toNode(arg, 'plain');
      node.tag = shortTag(name);
      return node;
    }
  }
  const map = new YAMLMap();
  const entries =
    context === 'template' ? ordered(obj, TOP_LEVEL_ORDER) : context === 'resource' ? ordered(obj, RESOURCE_ORDER) : ordered(obj, []);
  for (const [key, v] of entries) {
    const childContext = context === 'template' && key === 'Resources' ? 'resources' : context === 'resources' ? 'resource' : 'plain';
    map.items.push(new Pair(new Scalar(key), toNode(v, childContext)));
  }
  return map;
}

/**
 * Serializes a template to CloudFormation YAML. The object must be plain data (cloudform-types intrinsics
 * are normalised first through their `toJSON`), so the output depends only on the template's content.
 */
export function toYaml(template: object): string {
  const plain = JSON.parse(JSON.stringify(template)) as Record<string, unknown>;
  const doc = new Document(null, { version: '1.1' });
  doc.contents = toNode(plain, 'template') as never;
  return doc.toString({ lineWidth: 0, minContentWidth: 0, indentSeq: true, singleQuote: true });
}

function tagFor(longName: string): (ScalarTag | CollectionTag)[] {
  const tag = shortTag(longName);
  const wrap = (v: unknown) => ({ [longName]: v });
  const scalar: ScalarTag = {
    tag,
    identify: () => false,
    resolve: (str: string) =>
      longName === 'Fn::GetAtt'
        ? { [longName]: [str.slice(0, str.indexOf('.')), str.slice(str.indexOf('.') + 1)] }
        : wrap(str),
  };
  const seq: CollectionTag = {
    tag,
    collection: 'seq',
    identify: () => false,
    resolve: (node) => wrap((node as YAMLSeq).toJSON()),
  } as CollectionTag;
  const map: CollectionTag = {
    tag,
    collection: 'map',
    identify: () => false,
    resolve: (node) => wrap((node as YAMLMap).toJSON()),
  } as CollectionTag;
  return [scalar, seq, map];
}

const CFN_TAGS = SHORT_FORMS.flatMap(tagFor);

/** Where a parse failed, for messages like `out/root.yaml:12: ...`. */
export class TemplateParseError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(`${file}${line ? `:${line}` : ''}: ${reason}`);
    this.name = 'TemplateParseError';
  }
}

/**
 * The line where a JSON document stops being valid JSON (Node 20's message often lacks the position): a small
 * recursive-descent scan that only finds the offset of the first error.
 */
function jsonErrorLine(text: string): number | undefined {
  let i = 0;
  const ws = () => {
    while (/\s/.test(text[i] ?? '')) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) return void i++;
      for (;;) {
        if (c === '{') {
          ws();
          if (text[i] !== '"') fail();
          str();
          ws();
          if (text[i++] !== ':') (i--, fail());
        }
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === close) return void i++;
        else fail();
      }
    }
    if (c === '"') return str();
    const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
    if (!m) fail();
    i += m![0].length;
  };
  const str = () => {
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail();
    i++;
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
  } catch (at) {
    if (typeof at === 'number') return text.slice(0, at).split('\n').length;
    throw at;
  }
  return undefined;
}

/**
 * Parses a CloudFormation template (YAML with short-form tags, or JSON) to its long-form object.
 * `!GetAtt A.Outputs.X` becomes `{ "Fn::GetAtt": ["A", "Outputs.X"] }` (split at the first dot only).
 */
export function parseTemplate(text: string, file = '<template>'): Record<string, unknown> {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
      const pos = /position (\d+)/.exec(message);
      const line = pos ? text.slice(0, Number(pos[1])).split('\n').length : jsonErrorLine(text);
      throw new TemplateParseError(file, line, `invalid JSON: ${message}`);
    }
  }
  let value: unknown;
  try {
    value = parse(text, { version: '1.1', customTags: CFN_TAGS, prettyErrors: true, uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    const e = err as { message?: string; linePos?: { line: number }[] };
    throw new TemplateParseError(file, e.linePos?.[0]?.line, `invalid YAML: ${(e.message ?? String(err)).split('\n')[0]}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TemplateParseError(file, undefined, 'not a CloudFormation template (expected a mapping at the top)');
  }
  return value as Record<string, unknown>;
}

