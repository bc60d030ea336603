/**
 * Static evaluation of CloudFormation intrinsics across a template set, as far as the templates alone
 * decide them: `Ref` to a parameter follows the value the parent stack passes (or the `Default`),
 * `Fn::GetAtt Child.Outputs.X` follows the child's output, `Ref` to a resource becomes a `ResourceRef`.
 * What depends on the deployment (region, AZs, imports, a parameter without a value) becomes `Unknown`.
 */
import type { Resource, Stack } from './load.js';

/** A reference to a resource of the set (`Ref X`, or `Fn::GetAtt X.Attr`). */
export class ResourceRef {
  constructor(
    readonly stack: Stack,
    readonly id: string,
    readonly attr?: string,
  ) {}

  /** Identifies the resource across the set: `<stack name>:<logical ID>`. */
  get key(): string {
    return `${this.stack.name}:${this.id}`;
  }

  get resource(): Resource | undefined {
    return this.stack.template.Resources[this.id];
  }

  get type(): string | undefined {
    return this.resource?.Type;
  }
}

/**
 * A value the templates alone do not determine. `id` names where it comes from when every use of it is
 * the same value (a parameter without a value: `<stack>.<name>`), so two uses can be known to be equal.
 */
export class Unknown {
  constructor(
    readonly why: string,
    readonly id?: string,
  ) {}
}

/** `Fn::Join` over parts that are not all literals (e.g. a list of subnet refs joined with ','). */
export class Joined {
  constructor(
    readonly delimiter: string,
    readonly parts: readonly unknown[],
  ) {}
}

const MAX_DEPTH = 64;

const isPrimitive = (v: unknown): v is string | number | boolean => ['string', 'number', 'boolean'].includes(typeof v);

/** The single key of an intrinsic function object, if `value` is one. */
function intrinsic(value: object): string | undefined {
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0] === 'Condition' || keys[0]!.startsWith('Fn::')) ? keys[0] : undefined;
}

function isListType(type: string | undefined): boolean {
  return type === 'CommaDelimitedList' || (type?.startsWith('List<') ?? false);
}

function asList(value: unknown): unknown {
  if (typeof value === 'string') return value.split(',').map((s) => s.trim());
  if (value instanceof Joined && value.delimiter === ',') return value.parts;
  return value;
}

function resolveParameter(stack: Stack, name: string, depth: number): unknown {
  const declared = stack.template.Parameters?.[name];
  if (!declared) return new Unknown(`${stack.name}: no parameter or resource ${name}`);
  let value: unknown;
  const passed = stack.parent?.stack.template.Resources[stack.parent.logicalId]?.Properties?.['Parameters'] as Record<string, unknown> | undefined;
  if (stack.parent && passed?.[name] !== undefined) value = resolveValue(stack.parent.stack, passed[name], depth + 1);
  else if (declared.Default !== undefined) value = declared.Default;
  else return new Unknown(`parameter ${name} of ${stack.name} has no value in the templates (known only at deploy time)`, `${stack.name}.${name}`);
  return isListType(declared.Type) ? asList(value) : value;
}

function resolveRef(stack: Stack, name: string, depth: number): unknown {
  if (name === 'AWS::NoValue') return undefined;
  if (name.startsWith('AWS::')) return new Unknown(`${name} is known at deploy time`);
  if (stack.template.Resources[name]) return new ResourceRef(stack, name);
  return resolveParameter(stack, name, depth);
}

function resolveGetAtt(stack: Stack, arg: unknown, depth: number): unknown {
  const [id, attr] = typeof arg === 'string' ? [arg.slice(0, arg.indexOf('.')), arg.slice(arg.indexOf('.') + 1)] : (arg as unknown[]);
  if (typeof id !== 'string' || typeof attr !== 'string') return new Unknown('Fn::GetAtt with computed arguments');
  const child = stack.children.get(id);
  if (child && attr.startsWith('Outputs.')) {
    const output = child.template.Outputs?.[attr.slice('Outputs.'.length)];
    return output ? resolveValue(child, output.Value, depth + 1) : new Unknown(`${child.name} has no output ${attr.slice(8)}`);
  }
  return new ResourceRef(stack, id, attr);
}

function resolveSub(stack: Stack, arg: unknown, depth: number): unknown {
  const [text, vars] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>]);
  let unknown: Unknown | undefined;
  const result = String(text).replace(/\$\{([^!}][^}]*)\}/g, (_, name: string) => {
    const value =
      name in vars
        ? resolveValue(stack, vars[name], depth + 1)
        : name.includes('.') && !name.startsWith('AWS::')
          ? resolveGetAtt(stack, name, depth + 1)
          : resolveRef(stack, name, depth + 1);
    if (isPrimitive(value)) return String(value);
    unknown = value instanceof Unknown ? value : new Unknown(`Fn::Sub over \${${name}}`);
    return '';
  });
  return unknown ?? result;
}

/** Evaluates a named condition of the stack: true, false or Unknown. */
export function evaluateCondition(stack: Stack, name: string, depth = 0): boolean | Unknown {
  const expr = stack.template.Conditions?.[name];
  return expr === undefined ? new Unknown(`${stack.name}: no condition ${name}`) : evaluateExpression(stack, expr, depth + 1);
}

function evaluateExpression(stack: Stack, expr: unknown, depth: number): boolean | Unknown {
  if (typeof expr === 'boolean') return expr;
  if (expr === null || typeof expr !== 'object' || depth > MAX_DEPTH) return new Unknown('condition');
  const o = expr as Record<string, unknown>;
  if (typeof o['Condition'] === 'string') return evaluateCondition(stack, o['Condition'], depth);
  const args = (o['Fn::Equals'] ?? o['Fn::And'] ?? o['Fn::Or'] ?? o['Fn::Not']) as unknown[] | undefined;
  if (!Array.isArray(args)) return new Unknown('condition');
  if (o['Fn::Equals']) {
    const [a, b] = args.map((v) => resolveValue(stack, v, depth + 1));
    if (isPrimitive(a) && isPrimitive(b)) return String(a) === String(b);
    const open = [a, b].find((v): v is Unknown => v instanceof Unknown);
    return new Unknown(open ? open.why : 'condition over deploy-time values');
  }
  const values = args.map((v) => evaluateExpression(stack, v, depth + 1));
  if (o['Fn::Not']) return values[0] instanceof Unknown ? values[0] : !values[0];
  const known = values.filter((v): v is boolean => typeof v === 'boolean');
  if (o['Fn::And'] && known.includes(false)) return false;
  if (o['Fn::Or'] && known.includes(true)) return true;
  return known.length < values.length ? new Unknown('condition over deploy-time values') : Boolean(o['Fn::And']);
}

function resolveIntrinsic(stack: Stack, name: string, arg: unknown, depth: number): unknown {
  const args = Array.isArray(arg) ? arg : [arg];
  switch (name) {
    case 'Ref':
      return resolveRef(stack, String(arg), depth);
    case 'Fn::GetAtt':
      return resolveGetAtt(stack, arg, depth);
    case 'Fn::Sub':
      return resolveSub(stack, arg, depth);
    case 'Fn::Base64':
      return resolveValue(stack, arg, depth + 1);
    case 'Fn::FindInMap': {
      const [map, first, second] = args.map((a) => resolveValue(stack, a, depth + 1));
      if (![map, first, second].every(isPrimitive)) return new Unknown('Fn::FindInMap over deploy-time keys');
      const value = stack.template.Mappings?.[String(map)]?.[String(first)]?.[String(second)];
      return value === undefined ? new Unknown(`no mapping ${String(map)}.${String(first)}.${String(second)}`) : resolveValue(stack, value, depth + 1);
    }
    case 'Fn::Join': {
      const delimiter = String(args[0] ?? '');
      const parts = resolveValue(stack, args[1], depth + 1);
      if (!Array.isArray(parts)) return new Unknown('Fn::Join over a computed list');
      return parts.every(isPrimitive) ? parts.join(delimiter) : new Joined(delimiter, parts);
    }
    case 'Fn::Split': {
      const delimiter = String(args[0] ?? '');
      const source = resolveValue(stack, args[1], depth + 1);
      if (typeof source === 'string') return source.split(delimiter);
      return source instanceof Joined && source.delimiter === delimiter ? source.parts : new Unknown('Fn::Split over a computed string');
    }
    case 'Fn::Select': {
      const index = resolveValue(stack, args[0], depth + 1);
      const list = asList(resolveValue(stack, args[1], depth + 1));
      if (Array.isArray(list) && isPrimitive(index)) return list[Number(index)];
      // One element of an open list parameter is itself the same value wherever it is selected.
      if (list instanceof Unknown && isPrimitive(index)) return new Unknown(list.why, list.id === undefined ? undefined : `${list.id}[${String(index)}]`);
      return new Unknown('Fn::Select over a computed list');
    }
    case 'Fn::If': {
      const condition = evaluateCondition(stack, String(args[0]), depth + 1);
      if (condition instanceof Unknown) return new Unknown(`condition ${String(args[0])} is decided at deploy time (${condition.why})`);
      return resolveValue(stack, condition ? args[1] : args[2], depth + 1);
    }
    default:
      return new Unknown(`${name} is evaluated at deploy time`);
  }
}

/**
 * Resolves every intrinsic inside `value` (deeply), as seen from `stack`. Literals stay as they are;
 * `AWS::NoValue` drops the key or list item.
 */
export function resolveValue(stack: Stack, value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return new Unknown('references nest too deep');
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => resolveValue(stack, v, depth + 1)).filter((v) => v !== undefined);
  const name = intrinsic(value);
  if (name !== undefined) return resolveIntrinsic(stack, name, (value as Record<string, unknown>)[name], depth);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const resolved = resolveValue(stack, v, depth + 1);
    if (resolved !== undefined) out[k] = resolved;
  }
  return out;
}

const propertiesCache = new WeakMap<Resource, Record<string, unknown>>();

/** The resource's Properties with every intrinsic resolved (cached per resource). */
export function resolvedProperties(ref: ResourceRef): Record<string, unknown> {
  const resource = ref.resource;
  if (!resource) return {};
  let props = propertiesCache.get(resource);
  if (!props) {
    props = resolveValue(ref.stack, resource.Properties ?? {}) as Record<string, unknown>;
    propertiesCache.set(resource, props);
  }
  return props;
}

/** Every ResourceRef in a resolved value (lists, joined lists and single refs). */
export function refsIn(value: unknown): ResourceRef[] {
  if (value instanceof ResourceRef) return [value];
  if (value instanceof Joined) return value.parts.flatMap(refsIn);
  if (Array.isArray(value)) return value.flatMap(refsIn);
  return [];
}

/** One item of a resolved list: a resource of the set, a literal (an ID like `sg-0123`), or a value left open. */
export type Item = ResourceRef | string | Unknown;

/** The items of a resolved value that should be a list (a single value is a list of one). */
export function itemsIn(value: unknown): Item[] {
  if (value === undefined || value === null) return [];
  if (value instanceof ResourceRef || value instanceof Unknown) return [value];
  if (value instanceof Joined) return value.parts.flatMap(itemsIn);
  if (Array.isArray(value)) return value.flatMap(itemsIn);
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  return [new Unknown('a value of an unexpected shape')];
}

/**
 * What identifies an item wherever it is used: a resource's key, a literal, or the parameter an open value
 * comes from. Undefined for a value left open with no such identity.
 */
export function identityOf(item: Item): string | undefined {
  if (item instanceof ResourceRef) return item.attr && !['GroupId', 'Id', 'AllocationId', 'SubnetId', 'VpcId', 'RouteTableId'].includes(item.attr) ? `${item.key}.${item.attr}` : item.key;
  if (item instanceof Unknown) return item.id === undefined ? undefined : `parameter ${item.id}`;
  return item;
}

/** How a report names an item. */
export function describeItem(item: Item): string {
  if (item instanceof ResourceRef) return item.stack.parent ? `${item.stack.name}/${item.id}` : item.id;
  if (item instanceof Unknown) return item.id ? `parameter ${item.id.slice(item.id.lastIndexOf('.') + 1)}` : 'a value known only at deploy time';
  return item;
}

/** True for `true` and `"true"` (CloudFormation accepts both). */
export function isTrue(value: unknown): boolean {
  return value === true || (typeof value === 'string' && value.toLowerCase() === 'true');
}

/** True for `false` and `"false"`. */
export function isFalse(value: unknown): boolean {
  return value === false || (typeof value === 'string' && value.toLowerCase() === 'false');
}
