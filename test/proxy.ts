/**
 * A loopback HTTP proxy in front of moto_server, for the robustness tests: it names each request by its AWS
 * action (`DescribeStacks` from the query body or X-Amz-Target; `S3:PUT` for S3's REST calls) and lets a test
 * hold a request until it has sent a signal (an interrupt at a known phase), delay it, or answer it the way AWS
 * or a broken network does: throttling, an expired token, HTTP 500 with garbage, an HTML page with 200, a reset
 * connection, or any canned XML body.
 */
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** What the proxy does with one request. */
export type Behaviour =
  | { readonly kind: 'pass' }
  | { readonly kind: 'hold' }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'answer'; readonly status: number; readonly body: string; readonly contentType?: string }
  | { readonly kind: 'reset' };

export interface ProxiedCall {
  readonly action: string;
  readonly body: string;
}

/** A rule: the behaviour for a call, or undefined to let later rules (and finally 'pass') decide. */
export type Rule = (call: ProxiedCall, count: number) => Behaviour | undefined;

/** CloudFormation's and STS's error body (query protocol), as AWS writes it. */
export function awsError(code: string, message: string, type: 'Sender' | 'Receiver' = 'Sender'): string {
  return `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>`;
}

export const THROTTLED: Behaviour = { kind: 'answer', status: 400, body: awsError('Throttling', 'Rate exceeded') };
export const EXPIRED: Behaviour = { kind: 'answer', status: 403, body: awsError('ExpiredToken', 'The security token included in the request is expired') };
export const SERVER_ERROR: Behaviour = { kind: 'answer', status: 500, body: 'Internal Server Error', contentType: 'text/plain' };
export const HTML_PAGE: Behaviour = {
  kind: 'answer',
  status: 200,
  body: '<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><h1>Welcome to the network</h1></body></html>',
  contentType: 'text/html; charset=utf-8',
};

function actionOf(req: IncomingMessage, body: string): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return target.split('.').pop() ?? target;
  const action = /(?:^|&)Action=([A-Za-z]+)/.exec(body)?.[1];
  return action ?? `S3:${req.method}`;
}

export class FaultProxy {
  private server!: Server;
  private readonly rules: Rule[] = [];
  private readonly counts = new Map<string, number>();
  private readonly held: (() => void)[] = [];
  private readonly waiters: { action: string; resolve: () => void }[] = [];
  /** Every call seen, in order. */
  readonly calls: string[] = [];
  endpoint = '';

  constructor(private readonly upstream: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.endpoint = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Adds a rule (first match wins); returns a function that removes it. */
  on(rule: Rule): () => void {
    this.rules.push(rule);
    return () => this.rules.splice(this.rules.indexOf(rule), 1);
  }

  /**
   * Holds the answer to the `nth` call of `action` (1-based) until `release`: the call reaches moto and takes
   * effect, only its answer waits, as with a slow network. Other calls pass.
   */
  hold(action: string, nth = 1): () => void {
    return this.on((call, n) => (call.action === action && n === nth ? { kind: 'hold' } : undefined));
  }

  /** Answers every call of `action` with `behaviour` (the first `times` calls, or all). */
  fail(action: string | RegExp, behaviour: Behaviour, times = Infinity): () => void {
    let used = 0;
    return this.on((call) => ((typeof action === 'string' ? call.action === action : action.test(call.action)) && used++ < times ? behaviour : undefined));
  }

  reset(): void {
    this.rules.length = 0;
    this.release();
  }

  /** Lets every held call through. */
  release(): void {
    for (const go of this.held.splice(0)) go();
  }

  /** Resolves when a call of `action` arrives (or has arrived since the last `clearCalls`). */
  waitFor(action: string): Promise<void> {
    if (this.calls.includes(action)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ action, resolve }));
  }

  clearCalls(): void {
    this.calls.length = 0;
    this.counts.clear();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const action = actionOf(req, body.toString('utf8'));
    const count = (this.counts.get(action) ?? 0) + 1;
    this.counts.set(action, count);
    this.calls.push(action);
    for (const w of this.waiters.filter((w) => w.action === action)) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve();
    }
    const call = { action, body: body.toString('utf8') };
    let behaviour: Behaviour = { kind: 'pass' };
    for (const rule of this.rules) {
      const b = rule(call, count);
      if (b) {
        behaviour = b;
        break;
      }
    }
    if (behaviour.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, behaviour.ms));
    if (behaviour.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (behaviour.kind === 'answer') {
      res.writeHead(behaviour.status, { 'content-type': behaviour.contentType ?? 'text/xml', 'x-amzn-requestid': '00000000-0000-4000-8000-000000000000' });
      res.end(behaviour.body);
      return;
    }
    const upstream = new URL(this.upstream);
    const hold = behaviour.kind === 'hold';
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: req.headers.host ?? upstream.host } },
      async (answer) => {
        const parts: Buffer[] = [];
        for await (const part of answer) parts.push(part as Buffer);
        if (hold) await new Promise<void>((resolve) => this.held.push(resolve));
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.end(Buffer.concat(parts));
      },
    );
    forward.on('error', () => res.destroy());
    forward.end(body);
  }
}
