#!/usr/bin/env node
/**
 * The single entry point, started by `bin/dcos-cfn.mjs` (which transpiles what changed first):
 * `npm run <command> -- [options]`, or `node bin/dcos-cfn.mjs <command> [options]`.
 * Each command lives in `lib/commands/<name>.ts` and is loaded on demand, so `synth` does not pay
 * for the AWS SDK. Every failure ends here as one clear message and an exit code, never a stack trace:
 * a UserError prints its message; an AWS error no caller handled prints the call, the service's message and
 * what to do; anything else is a bug, printed in one line (DCOS_CFN_DEBUG=1 adds the stack). Ctrl-C and
 * SIGTERM run the command's interrupt handlers and exit 130 (lib/interrupt.ts).
 */
import { describeAwsError, UserError } from './errors.js';
import { installInterruptHandlers, interruptHandled, interruptSignal, INTERRUPTED_EXIT } from './interrupt.js';

/** A command module: parses its own argv, returns the process exit code. */
export interface Command {
  main(argv: readonly string[]): Promise<number>;
}

const COMMANDS: Record<string, { readonly summary: string; readonly load: () => Promise<Command> }> = {
  synth: { summary: 'compile a cluster definition to CloudFormation YAML in out/', load: () => import('./commands/synth.js') },
  lint: { summary: 'run cfn-lint over every template in out/', load: () => import('./commands/lint.js') },
  audit: { summary: 'show what the internet can reach and check the hardening rules', load: () => import('./commands/audit.js') },
  deploy: { summary: 'ship out/ to CloudFormation through a change set', load: () => import('./commands/deploy.js') },
  diff: { summary: 'show what deploy would change (change set, then deleted)', load: () => import('./commands/diff.js') },
  drift: { summary: 'detect drift on the deployed root and nested stacks, security-relevant drift first', load: () => import('./commands/drift.js') },
  destroy: { summary: 'delete the stack and list what was retained', load: () => import('./commands/destroy.js') },
  diagram: { summary: 'draw out/ as out/architecture.svg: VPC, zones, nodes, the internet ingress the audit reports', load: () => import('./commands/diagram.js') },
  package: { summary: 'upload the nested templates and write out/packaged/ for the AWS console', load: () => import('./commands/package.js') },
  bundle: { summary: "upload the DC/OS bundle (genconf/serve) where the cluster's nodes fetch it", load: () => import('./commands/bundle.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: npm run <command> -- [options]   (or: node bin/dcos-cfn.mjs <command> [options])\n\nCommands:\n${lines.join('\n')}\n\nEach command takes --help.`;
}

/** The message and exit code for a failure that reached the entry point. */
export function failure(err: unknown): { readonly message: string; readonly exitCode: number } {
  if (err instanceof UserError) return { message: `error: ${err.message}`, exitCode: err.exitCode };
  const aws = describeAwsError(err);
  if (aws) return { message: `error: ${aws}`, exitCode: 1 };
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as NodeJS.ErrnoException).code;
  if (code && ['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'ENOTDIR', 'EISDIR', 'EMFILE'].includes(code)) {
    return { message: `error: ${e.message}. Check the path and its permissions or free space, then run again.`, exitCode: 1 };
  }
  const trace = process.env['DCOS_CFN_DEBUG'] ? `\n${e.stack}` : ' (a bug: please report it with the command you ran; DCOS_CFN_DEBUG=1 prints the stack trace)';
  return { message: `error: unexpected ${e.name}: ${e.message.split('\n')[0]}${trace}`, exitCode: 1 };
}

export async function run(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    console.error(`Unknown command '${name}'.\n\n${usage()}`);
    return 2;
  }
  try {
    const command = await entry.load();
    return await command.main(rest);
  } catch (err) {
    if (interruptSignal() !== undefined) {
      await interruptHandled(); // the interrupt handlers report; the signal handler exits
      return INTERRUPTED_EXIT;
    }
    const { message, exitCode } = failure(err);
    console.error(message);
    return exitCode;
  }
}

installInterruptHandlers();
process.exitCode = await run(process.argv.slice(2));
