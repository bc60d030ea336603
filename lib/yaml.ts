/**
 * CloudFormation YAML: written in short form (`!Ref`, `!GetAtt a.b`, `!Sub`, ...), YAML 1.1 so that
 * `on`, `no` and `2010-09-09` stay strings, fixed key order at the top, same bytes on every run.
 * `parseTemplate` reads it back (and JSON, and foreign YAML templates) to the long-form object.
 */
import { createRequire } from 'node:module';
import type { CollectionTag, ScalarTag, YAMLMap, YAMLSeq } from 'yaml';

/** The `yaml` library, loaded only when a template is read (synth writes without it). */
const loadYaml = () => createRequire(import.meta.url)('yaml') as typeof import('yaml');

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

type Context = 'template' | 'resources' | 'resource' | 'plain';

/** Plain scalars YAML 1.1 would read as something other than a string: booleans, nulls, numbers, dates, '='. */
const YAML11_NON_STRING = /^(?:[yYnN]|yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~|=|<<|[-+]?\.?[0-9].*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
/** Characters that may not start a plain scalar, or sequences that end one early. */
const NEEDS_QUOTES = /^[-?:,[\]{}#&*!|>'"%@`\s]|: |\s#|:$|\s$/;
/** Characters a literal block cannot hold: control characters other than tab and newline. */
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f\u0085\u2028\u2029\ufeff]/;

function scalar(value: unknown): string {
  if (typeof value !== 'string') return value === null ? 'null' : String(value);
  if (UNPRINTABLE.test(value) || value.includes('\n')) return JSON.stringify(value);
  if (value === '' || YAML11_NON_STRING.test(value) || NEEDS_QUOTES.test(value)) return `'${value.replaceAll("'", "''")}'`;
  return value;
}

/** A multi-line string as a literal block (`|`, `|-`, `|+`), or undefined when it must be quoted instead. */
function literalBlock(value: string, indent: string): string | undefined {
  if (!value.includes('\n') || UNPRINTABLE.test(value) || /[ \t]\n|[ \t]$/.test(value)) return undefined;
  const body = value.replace(/\n+$/, '');
  const trailing = value.length - body.length;
  const chomp = trailing === 0 ? '-' : trailing === 1 ? '' : '+';
  const indicator = /^[ \n]/.test(value) ? '2' : '';
  const lines = (trailing > 1 ? value.slice(0, -1) : body).split('\n');
  return `|${indicator}${chomp}\n${lines.map((l) => (l === '' ? '' : `${indent}${l}`)).join('\n')}`;
}

/** `{ Fn::X: arg }` to its short form, or undefined when the long form must stay (see below). */
function shortForm(value: unknown): { tag: string; arg: unknown } | undefined {
  const name = intrinsicName(value);
  if (name === undefined) return undefined;
  const arg = (value as Record<string, unknown>)[name];
  // YAML allows one tag per node: `!Base64 !Sub x` is invalid, so an intrinsic whose argument is itself an
  // intrinsic keeps the long form on the outside (`Fn::Base64: !Sub x`).
  if (intrinsicName(arg) !== undefined) return undefined;
  if (name === 'Fn::GetAtt' && Array.isArray(arg) && arg.length === 2 && arg.every((a) => typeof a === 'string')) {
    return { tag: shortTag(name), arg: `${arg[0]}.${arg[1]}` };
  }
  return { tag: shortTag(name), arg };
}

const isCollection = (v: unknown): v is object => v !== null && typeof v === 'object' && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0);

/**
 * The text that follows `key:` or `- ` for `value`, written at nesting `indent`: either ` scalar` on the same line,
 * or a newline and a block one level deeper. `dash` marks a sequence item, where a mapping starts on the dash line.
 */
function node(value: unknown, indent: string, context: Context, dash = false): string {
  const short = context === 'plain' ? shortForm(value) : undefined;
  const tag = short ? ` ${short.tag}` : '';
  const v = short ? short.arg : value;
  const inner = `${indent}  `;
  if (!isCollection(v)) {
    if (typeof v === 'string' && v.includes('\n')) {
      const block = literalBlock(v, inner);
      if (block) return `${tag} ${block}`;
    }
    if (Array.isArray(v)) return `${tag} []`;
    if (v !== null && typeof v === 'object') return `${tag} {}`;
    return `${tag} ${scalar(v)}`;
  }
  const lines = Array.isArray(v) ? sequence(v, inner) : mapping(v as Record<string, unknown>, inner, context);
  // A sequence item that is an untagged collection starts on the dash line (`- key: v`, `- - a`).
  if (dash && !short) return ` ${lines.slice(inner.length)}`;
  return `${tag}\n${lines}`;
}

function sequence(items: readonly unknown[], indent: string): string {
  return items.map((item) => `${indent}-${node(item, indent, 'plain', true)}`).join('\n');
}

function mapping(obj: Record<string, unknown>, indent: string, context: Context): string {
  const entries = context === 'template' ? ordered(obj, TOP_LEVEL_ORDER) : context === 'resource' ? ordered(obj, RESOURCE_ORDER) : ordered(obj, []);
  return entries
    .map(([key, v]) => {
      const child: Context = context === 'template' && key === 'Resources' ? 'resources' : context === 'resources' ? 'resource' : 'plain';
      return `${indent}${scalar(key)}:${node(v, indent, child)}`;
    })
    .join('\n');
}

/**
 * Serializes a template to CloudFormation YAML. The object must be plain data (cloudform-types intrinsics
 * are normalised first through their `toJSON`), so the output depends only on the template's content.
 * A small emitter of our own: synth stays fast (no YAML library to load), and the tests parse every template
 * back with the \`yaml\` library (and cfn-lint with PyYAML) to prove it writes what it means.
 */
export function toYaml(template: object): string {
  const plain = JSON.parse(JSON.stringify(template)) as Record<string, unknown>;
  return `${mapping(plain, '', 'template')}\n`;
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
    value = loadYaml().parse(text, { version: '1.1', customTags: CFN_TAGS, prettyErrors: true, uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    const e = err as { message?: string; linePos?: { line: number }[] };
    throw new TemplateParseError(file, e.linePos?.[0]?.line, `invalid YAML: ${(e.message ?? String(err)).split('\n')[0]}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TemplateParseError(file, undefined, 'not a CloudFormation template (expected a mapping at the top)');
  }
  return value as Record<string, unknown>;
}

