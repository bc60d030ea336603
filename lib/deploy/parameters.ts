/**
 * Stack parameters and tags: from `--parameters-file` (the aws-cli JSON format) and `--parameter
 * Key=Value`, checked against the root template (declared, and within each declaration's constraints), with
 * previous values kept on an update for the parameters not given. Every problem is reported at once.
 */
import type { Parameter, Tag } from '@aws-sdk/client-cloudformation';
import { readFileSync } from 'node:fs';
import { UserError, ValidationError } from '../errors.js';
import { TEMPLATE_BASE_URL_PARAMETER } from '../manifest.js';
import { PARAMETER_DEFAULTS_KEY } from '../template.js';
import { nearest } from '../suggest.js';
import type { Template, TemplateParameter } from './templates.js';

/** Reads `[{"ParameterKey": "K", "ParameterValue": "V"}, ...]`, as `aws cloudformation` takes it. */
export function readParametersFile(path: string): Record<string, string> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? `Parameters file ${path} not found.` : `Parameters file ${path} is not valid JSON: ${jsonProblem(err as Error, path)}`);
  }
  const example = '[{"ParameterKey": "KeyName", "ParameterValue": "ops"}]';
  if (!Array.isArray(raw)) throw new UserError(`Parameters file ${path} must be a JSON array like ${example}.`);
  const values: Record<string, string> = {};
  const problems: string[] = [];
  raw.forEach((item: unknown, i) => {
    const p = item as { ParameterKey?: unknown; ParameterValue?: unknown } | null;
    if (typeof p?.ParameterKey !== 'string' || (typeof p.ParameterValue !== 'string' && typeof p.ParameterValue !== 'number')) {
      problems.push(`entry ${i}: expected {"ParameterKey": string, "ParameterValue": string}`);
    } else {
      values[p.ParameterKey] = String(p.ParameterValue);
    }
  });
  if (problems.length) throw new ValidationError(`Parameters file ${path} is malformed (expected ${example}):`, problems);
  return values;
}

/**
 * What JSON.parse said, without the excerpt of the file it quotes (a parameters file holds secrets): the error and,
 * where Node gives its position, the line and column.
 */
function jsonProblem(err: Error, path: string): string {
  const reason = err.message.replace(/,\s*(?:\.\.\.)?".*$/s, '').replace(/ in JSON at position \d+.*$/s, '').replace(/\s*\(line \d+ column \d+\)$/, '');
  const position = /at position (\d+)/.exec(err.message)?.[1];
  if (position === undefined) return `${reason}.`;
  const before = readFileSync(path, 'utf8').slice(0, Number(position)).split('\n');
  return `${reason} at line ${before.length}, column ${before.at(-1)!.length + 1}.`;
}

/** Parses repeated `Key=Value` flags (`--parameter`, `--tag`); a malformed one is bad usage (exit 2). */
export function parseKeyValues(flag: string, items: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    // With no key, what was typed may be a value alone (a secret): it is not repeated.
    if (eq <= 0) throw new UserError(`--${flag} ${eq === 0 ? '=****' : item}: expected Key=Value.`, 2);
    values[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return values;
}

export interface ResolvedParameters {
  /** What CreateChangeSet gets: given values, UsePreviousValue for kept ones; defaults left to CloudFormation. */
  readonly parameters: Parameter[];
  /** The value each parameter will have after the deploy, for the no-op check (undefined: unknown, NoEcho). */
  readonly effective: Readonly<Record<string, string | undefined>>;
  /** One line per parameter that took another parameter's value (the root's `dcos:parameterDefaults`). */
  readonly notes: readonly string[];
}

/** The root template's `dcos:parameterDefaults`: parameter → the parameter whose value it takes at create. */
function parameterDefaults(template: Template): Record<string, string> {
  const found = (template['Metadata'] as Record<string, unknown> | undefined)?.[PARAMETER_DEFAULTS_KEY];
  return found !== null && typeof found === 'object' ? (found as Record<string, string>) : {};
}

/**
 * Resolves the root stack's parameters. `previous` is the deployed stack's parameters (an update),
 * or undefined (a create). TemplateBaseUrl is always deploy's own value. A parameter with neither a given nor a
 * previous value that the root's `dcos:parameterDefaults` ties to another takes that one's value as deployed
 * before this run (or as given, on a create): `MasterImageId` starts as `NodeImageId` and then keeps its own value,
 * so a new `NodeImageId` never reaches the masters.
 */
export function resolveParameters(
  template: Template,
  given: Readonly<Record<string, string>>,
  previous: readonly Parameter[] | undefined,
  templateBaseUrl: string,
): ResolvedParameters {
  const declared = template.Parameters ?? {};
  const problems: string[] = [];
  for (const key of Object.keys(given)) {
    if (key === TEMPLATE_BASE_URL_PARAMETER) problems.push(`${key} is set by deploy (the S3 folder of the uploaded templates); do not pass it.`);
    else if (!(key in declared)) {
      const near = nearest(key, Object.keys(declared));
      problems.push(`${key} is not a parameter of the root template${near.length ? ` (did you mean ${near.join(' or ')}?)` : ''} (it declares: ${Object.keys(declared).join(', ')}).`);
    }
  }
  const parameters: Parameter[] = [];
  const effective: Record<string, string | undefined> = {};
  const missing: string[] = [];
  const notes: string[] = [];
  const defaults = parameterDefaults(template);
  const before = (key: string) => previous?.find((p) => p.ParameterKey === key);
  for (const [key, declaration] of Object.entries(declared)) {
    const kept = before(key);
    const noEcho = declaration.NoEcho === true || declaration.NoEcho === 'true';
    if (key === TEMPLATE_BASE_URL_PARAMETER) {
      parameters.push({ ParameterKey: key, ParameterValue: templateBaseUrl });
      effective[key] = templateBaseUrl;
    } else if (key in given) {
      const problem = constraintProblem(key, given[key]!, declaration);
      if (problem) problems.push(`${problem}.`);
      parameters.push({ ParameterKey: key, ParameterValue: given[key] });
      effective[key] = noEcho ? undefined : given[key];
    } else if (kept) {
      parameters.push({ ParameterKey: key, UsePreviousValue: true });
      effective[key] = kept.ParameterValue;
    } else if (defaults[key] !== undefined && !noEcho) {
      const source = defaults[key];
      const value = before(source)?.ParameterValue ?? given[source] ?? declared[source]?.Default;
      if (value === undefined) {
        missing.push(key);
      } else {
        // A value its source parameter already refuses is reported there, once.
        const refusedAtSource = declared[source] !== undefined && constraintProblem(source, String(value), declared[source]) !== undefined;
        const problem = refusedAtSource ? undefined : constraintProblem(key, String(value), declaration);
        if (problem) problems.push(`${problem}: it takes ${source}'s value when not given; pass ${key} with --parameter ${key}=VALUE.`);
        parameters.push({ ParameterKey: key, ParameterValue: String(value) });
        effective[key] = String(value);
        notes.push(`${key} is not given: it takes ${source}'s ${before(source) ? 'deployed ' : ''}value ${String(value)}, and keeps it when ${source} changes.`);
      }
    } else if (declaration.Default !== undefined) {
      effective[key] = String(declaration.Default);
    } else {
      missing.push(key);
    }
  }
  if (missing.length) {
    problems.push(
      `The following parameters of the root template are missing a value: ${missing.join(', ')}. ` +
        `Pass them with --parameter Key=Value or in --parameters-file.`,
    );
  }
  if (problems.length) throw new ValidationError('Stack parameters are not right:', problems);
  return { parameters, effective, notes };
}

/**
 * What is wrong with `value` for the parameter `key` as `declaration` constrains it, or undefined. CloudFormation
 * checks these only when the change set is made, and a local emulator not at all, so deploy checks them before
 * anything is uploaded or created (CloudFormation User Guide, "Parameters": AllowedPattern must match the whole
 * value, MinLength/MaxLength count a String's characters, MinValue/MaxValue bound a Number, each element of a
 * list type is checked on its own). A pattern JavaScript cannot read is left to CloudFormation. The value of a
 * `NoEcho` parameter, and of each of its elements, is shown as `****`.
 */
function constraintProblem(key: string, value: string, declaration: TemplateParameter): string | undefined {
  const type = declaration.Type ?? 'String';
  const list = type === 'CommaDelimitedList' || type.startsWith('List<');
  const because = declaration.ConstraintDescription ? ` (${declaration.ConstraintDescription})` : '';
  const secret = declaration.NoEcho === true || declaration.NoEcho === 'true';
  const show = (text: string) => (secret ? '****' : text);
  const problems: string[] = [];
  for (const item of list ? value.split(',') : [value]) {
    const shown = list ? `${show(JSON.stringify(item))} in ${key}=${show(value)}` : `${key}=${show(value)}`;
    if (declaration.AllowedValues && !declaration.AllowedValues.map(String).includes(item)) {
      problems.push(`${shown} is not one of its AllowedValues: ${declaration.AllowedValues.map(String).join(', ')}${because}`);
    }
    if (declaration.AllowedPattern !== undefined) {
      let pattern: RegExp | undefined;
      try {
        pattern = new RegExp(`^(?:${declaration.AllowedPattern})$`, 'u');
      } catch {
        pattern = undefined;
      }
      if (pattern && !pattern.test(item)) problems.push(`${shown} does not match its AllowedPattern ${declaration.AllowedPattern}${because}`);
    }
    if (type === 'Number') {
      const number = item.trim() === '' ? NaN : Number(item);
      if (!Number.isFinite(number)) problems.push(`${shown} is not a number`);
      else if (declaration.MinValue !== undefined && number < Number(declaration.MinValue)) problems.push(`${shown} is below its MinValue ${declaration.MinValue}${because}`);
      else if (declaration.MaxValue !== undefined && number > Number(declaration.MaxValue)) problems.push(`${shown} is above its MaxValue ${declaration.MaxValue}${because}`);
    }
  }
  if (type === 'String' && declaration.MinLength !== undefined && [...value].length < Number(declaration.MinLength)) {
    problems.push(`${key}=${show(value)} is shorter than its MinLength ${declaration.MinLength}${because}`);
  }
  if (type === 'String' && declaration.MaxLength !== undefined && [...value].length > Number(declaration.MaxLength)) {
    problems.push(`${key} is ${[...value].length} characters long, over its MaxLength ${declaration.MaxLength}${because}`);
  }
  return problems.length ? problems.join('; ') : undefined;
}

/** True when the deployed stack already has exactly these parameter values. */
export function sameParameters(effective: Readonly<Record<string, string | undefined>>, deployed: readonly Parameter[]): boolean {
  const keys = new Set([...Object.keys(effective), ...deployed.map((p) => p.ParameterKey ?? '')]);
  for (const key of keys) {
    const want = effective[key];
    const have = deployed.find((p) => p.ParameterKey === key)?.ParameterValue;
    if (want === undefined || have === undefined || want !== have) return false;
  }
  return true;
}

export function toTags(values: Readonly<Record<string, string>>): Tag[] {
  return Object.entries(values).map(([Key, Value]) => ({ Key, Value }));
}

/** Tags not given on an update are left as they are, so only given tags are compared. */
export function sameTags(given: readonly Tag[] | undefined, deployed: readonly Tag[] | undefined): boolean {
  if (given === undefined) return true;
  const key = (tags: readonly Tag[]) => JSON.stringify([...tags].sort((a, b) => (a.Key ?? '').localeCompare(b.Key ?? '')).map((t) => [t.Key, t.Value]));
  return key(given) === key(deployed ?? []);
}
