/**
 * CloudFormation YAML, written and read with the `yaml` library: short-form tags (`!Ref`, `!GetAtt a.b`,
 * `!Sub`, ...), YAML 1.1 so that `on`, `no` and `2010-09-09` stay strings, fixed key order at the top, same
 * bytes on every run. `parseTemplate` reads it back (and JSON, and foreign YAML templates) to the long-form
 * object. The strings the library would write in a way PyYAML (cfn-lint) or YAML 1.1 reads differently are
 * written double-quoted with escapes instead (see `stringScalar`).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { CollectionTag, Node, ScalarTag, YAMLMap, YAMLSeq } from 'yaml';

/** The `yaml` library, loaded on first use (commands that neither write nor read YAML never load it). */
let yamlModule: typeof import('yaml') | undefined;
const loadYaml = () => (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));

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
  const entries = Object.entries(obj).filter(([, v]) => v !== undefined);
  if (order.length === 0) return entries;
  const rank = (k: string) => (order.includes(k) ? order.indexOf(k) : order.length);
  return entries.sort(([a], [b]) => rank(a) - rank(b));
}

/** The single intrinsic key of `{ "Fn::X": ... }` / `{ Ref: ... }`, if `value` is one. */
function intrinsicName(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  return (SHORT_FORMS as readonly string[]).includes(keys[0]!) ? keys[0] : undefined;
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

/**
 * Plain scalars YAML 1.1 would read as something other than a string: booleans, nulls, numbers (anything
 * starting like one), dates, times, infinities, the merge key `<<` and the value key `=` (the `yaml` library
 * quotes the others itself, but writes `<<` and `=` plain, which PyYAML then cannot construct).
 */
const YAML11_NON_STRING = /^(?:[yYnN]|yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~|=|<<|[-+]?\.?[0-9].*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
/**
 * Characters that must be escaped: C0 controls other than tab and newline (CR included), DEL, C1 controls
 * (U+0085 NEL is a line break in YAML 1.1), the line and paragraph separators U+2028/U+2029 (line breaks in
 * YAML 1.1), the byte-order mark and the non-characters U+FFFE/U+FFFF, and lone surrogates.
 */
const NEEDS_ESCAPE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]/;
/**
 * Multi-line strings a literal block (`|`) cannot carry as PyYAML reads it: a first content line that starts
 * with a tab (PyYAML takes it for indentation and fails), or a line of only blanks (PyYAML drops the blanks).
 */
const NOT_BLOCK_SAFE = /^\n*\t|(?:^|\n)[ \t]+(?:\n|$)/;

const ESCAPES: Record<string, string> = { '\u0085': '\\N', '\u2028': '\\L', '\u2029': '\\P' };

/** A double-quoted YAML scalar on one line: JSON's escapes (all valid YAML), plus the characters JSON leaves raw. */
function doubleQuoted(value: string): string {
  return JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g, (c) => {
    const code = c.charCodeAt(0);
    return ESCAPES[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}

/**
 * The string tag we write with: the library's own, except for strings it would write so that YAML 1.1 or
 * PyYAML reads them back differently. Those are written double-quoted with escapes, or single-quoted.
 */
function stringScalar(libraryString: ScalarTag): ScalarTag {
  return {
    ...libraryString,
    stringify(item, ctx, onComment, onChompKeep) {
      const value = String((item as { value: unknown }).value);
      if (NEEDS_ESCAPE.test(value) || (value.includes('\n') && NOT_BLOCK_SAFE.test(value))) return doubleQuoted(value);
      if (YAML11_NON_STRING.test(value)) return `'${value.replaceAll("'", "''")}'`;
      return libraryString.stringify!(item, ctx, onComment, onChompKeep);
    },
  };
}

/**
 * A number tag that writes exponents with a dot (`1.0e+21`): YAML 1.1 reads `1e+21` as a string, since its
 * float pattern requires one.
 */
function yaml11Number(libraryNumber: ScalarTag): ScalarTag {
  return {
    ...libraryNumber,
    stringify(item, ctx, onComment, onChompKeep) {
      const text = libraryNumber.stringify!(item, ctx, onComment, onChompKeep);
      return text.replace(/^([-+]?[0-9]+)(?=[eE])/, '$1.0');
    },
  };
}

type Context = 'template' | 'resources' | 'resource' | 'plain';

/** The document node for `value`, short-form tags put on intrinsics, mapping keys in their fixed order. */
function toNode(value: unknown, context: Context): Node {
  const { Scalar, YAMLMap, YAMLSeq, Pair } = loadYaml();
  const short = context === 'plain' ? shortForm(value) : undefined;
  if (short) {
    const node = toNode(short.arg, 'plain');
    node.tag = short.tag;
    return node;
  }
  if (Array.isArray(value)) {
    const seq = new YAMLSeq();
    seq.items = value.map((v) => toNode(v, 'plain'));
    return seq;
  }
  if (value !== null && typeof value === 'object') {
    const map = new YAMLMap();
    const order = context === 'template' ? TOP_LEVEL_ORDER : context === 'resource' ? RESOURCE_ORDER : [];
    for (const [key, v] of ordered(value as Record<string, unknown>, order)) {
      const child: Context = context === 'template' && key === 'Resources' ? 'resources' : context === 'resources' ? 'resource' : 'plain';
      map.items.push(new Pair(new Scalar(key), toNode(v, child)));
    }
    return map;
  }
  return new Scalar(value);
}

let fingerprint: string | undefined;

/**
 * What `toYaml`'s output and `parseTemplate`'s result depend on besides their input: this module's code and
 * the `yaml` library's version (read from its package.json, without loading the library). The content cache
 * of YAML keys on it.
 */
export function yamlFingerprint(): string {
  if (fingerprint === undefined) {
    const require = createRequire(import.meta.url);
    const library = JSON.parse(readFileSync(require.resolve('yaml/package.json'), 'utf8')) as { version: string };
    fingerprint = `${readFileSync(fileURLToPath(import.meta.url), 'utf8')}\nyaml ${library.version}`;
  }
  return fingerprint;
}

/**
 * Serializes a template to CloudFormation YAML. The object must be plain data (cloudform-types intrinsics
 * are normalised first through their `toJSON`), so the output depends only on the template's content.
 * Every template synth writes is parsed back by the tests, with this module and with cfn-lint's own loader.
 */
export function toYaml(template: object): string {
  const { Document } = loadYaml();
  const plain = JSON.parse(JSON.stringify(template)) as Record<string, unknown>;
  const doc = new Document(null, {
    version: '1.1',
    // Our string tag in place of the library's; no merge tag, which would write the string '<<' as a merge key.
    customTags: (tags) =>
      tags
        .filter((t) => typeof t !== 'object' || t.tag !== 'tag:yaml.org,2002:merge')
        .map((t) => {
          if (typeof t !== 'object' || 'collection' in t) return t;
          if (t.tag === 'tag:yaml.org,2002:str') return stringScalar(t);
          if (t.tag === 'tag:yaml.org,2002:int' || t.tag === 'tag:yaml.org,2002:float') return yaml11Number(t);
          return t;
        }),
  });
  doc.contents = toNode(plain, 'template') as typeof doc.contents;
  return doc.toString({ directives: false, lineWidth: 0, blockQuote: 'literal', indentSeq: true, singleQuote: true });
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

