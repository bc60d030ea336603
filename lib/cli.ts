#!/usr/bin/env node
/**
 * The single entry point, started by `bin/dcos-cfn.mjs` (which transpiles what changed first):
 * `npm run <command> -- [options]`, or `node bin/dcos-cfn.mjs <command> [options]`.
 * Each command lives in `lib/commands/<name>.ts` and is loaded on demand, so `synth` does not pay
 * for the AWS SDK. User mistakes (UserError) print one clear message and exit non-zero, no stack.
 */
import { UserError } from './errors.js';

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
  destroy: { summary: 'delete the stack and list what was retained', load: () => import('./commands/destroy.js') },
  diagram: { summary: 'draw out/ as out/architecture.svg: VPC, zones, nodes, the internet ingress the audit reports', load: () => import('./commands/diagram.js') },
  package: { summary: 'upload the nested templates and write out/packaged/ for the AWS console', load: () => import('./commands/package.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: npm run <command> -- [options]   (or: node bin/dcos-cfn.mjs <command> [options])\n\nCommands:\n${lines.join('\n')}\n\nEach command takes --help.`;
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
    if (err instanceof UserError) {
      console.error(`error: ${err.message}`);
      return err.exitCode;
    }
    throw err;
  }
}

process.exitCode = await run(process.argv.slice(2));
