/**
 * Graphviz, compiled to WebAssembly (@hpcc-js/wasm-graphviz), lays out DOT and writes SVG. Loaded once
 * per process; no native binary and no network.
 */
import { Graphviz } from '@hpcc-js/wasm-graphviz';

let graphviz: Promise<Graphviz> | undefined;

/** Lays the DOT source out with `dot` and returns the SVG text (same input, same bytes). */
export async function renderSvg(dot: string): Promise<string> {
  graphviz ??= Graphviz.load();
  return (await graphviz).dot(dot, 'svg');
}

/** The Graphviz version in use, for the report. */
export async function graphvizVersion(): Promise<string> {
  graphviz ??= Graphviz.load();
  return (await graphviz).version();
}
