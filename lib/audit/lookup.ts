/**
 * Finding resources of a template set by type and by what they point at, for the builders of the network
 * model. Lookups are memoized per set: a model is built in one pass over a set that does not change.
 */
import type { TemplateSet } from './load.js';
import { allOf, maybe, no, yes, type Fact, type Located } from './model.js';
import { evaluateCondition, identityOf, itemsIn, resolvedProperties, ResourceRef, Unknown, type Item } from './resolve.js';

export class Lookup {
  private readonly byType = new Map<string, ResourceRef[]>();
  private readonly pointing = new Map<string, Map<string, ResourceRef[]>>();

  constructor(readonly set: TemplateSet) {
    for (const stack of set.stacks) {
      for (const [id, r] of Object.entries(stack.template.Resources)) {
        this.byType.set(r.Type, [...(this.byType.get(r.Type) ?? []), new ResourceRef(stack, id)]);
      }
    }
  }

  /** Every resource of the given types, in stack order. */
  ofType(...types: string[]): ResourceRef[] {
    return types.flatMap((t) => this.byType.get(t) ?? []);
  }

  /** Resources of `type` whose property `name` holds an item with identity `id` (a key, literal or parameter). */
  pointingAt(type: string, name: string, id: string | undefined): ResourceRef[] {
    if (id === undefined) return [];
    const cacheKey = `${type} ${name}`;
    let index = this.pointing.get(cacheKey);
    if (!index) {
      index = new Map();
      for (const ref of this.ofType(type)) {
        for (const item of itemsIn(prop(ref, name))) {
          const itemId = identityOf(item);
          if (itemId !== undefined) index.set(itemId, [...(index.get(itemId) ?? []), ref]);
        }
      }
      this.pointing.set(cacheKey, index);
    }
    return index.get(id) ?? [];
  }

  /** The resource an item points at, when it is one of the set of that type. */
  resourceOf(item: Item | undefined, type: string): ResourceRef | undefined {
    return item instanceof ResourceRef && item.type === type ? item : undefined;
  }
}

/** A resolved property of a resource. */
export const prop = (ref: ResourceRef, name: string): unknown => resolvedProperties(ref)[name];

/** A value as a list of records (a single record is a list of one; anything else is dropped). */
export function records(value: unknown): Record<string, unknown>[] {
  const items = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return items.filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object' && !(v instanceof ResourceRef) && !(v instanceof Unknown));
}

/** Where a resource of the set is, as the model names it. */
export function located(ref: ResourceRef): Located {
  return { key: ref.key, stack: ref.stack.name, file: ref.stack.file, resource: ref.id, type: ref.type ?? '' };
}

/** Whether a resource is created: `yes` without a Condition, `maybe` for one decided at deploy time. */
export function existence(ref: ResourceRef): Fact {
  const condition = ref.resource?.Condition;
  if (condition === undefined) return yes('');
  const value = evaluateCondition(ref.stack, condition);
  if (value instanceof Unknown) return maybe(`${ref.id} is created only if condition ${condition} holds, which is decided at deploy time`);
  return value ? yes('') : no(`${ref.id} is not created (condition ${condition} is false)`);
}

/** `existence` of every resource on the way, all at once. */
export const existing = (...refs: ResourceRef[]) => allOf(...refs.map(existence));
