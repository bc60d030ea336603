/**
 * Our rules against secrets in templates. A template is read by everyone who can read the stack (the console's
 * Template tab, GetTemplate, `out/`, the S3 copy deploy uploads), and `NoEcho` masks a parameter's value only in
 * the calls that describe the stack, not what the template itself holds (CloudFormation User Guide, Parameters:
 * NoEcho; cfn-lint W2010 quotes the same page: NoEcho masks nothing in Metadata or Outputs).
 * - DCOS.CFN.1: a parameter whose name says it holds a secret is `NoEcho`;
 * - DCOS.CFN.2: no secret parameter or credential-shaped text in user data or outputs;
 * - DCOS.CFN.4: no parameter `Default` holds a secret: none on a `NoEcho` or secret-named parameter, and none
 *   shaped like a credential whatever the parameter's name.
 * Messages say what a value looks like, never the value.
 */
import { stackFinding, type Rule } from './finding.js';
import type { Stack } from './load.js';
import { isTrue } from './resolve.js';
import { userDataOf } from './user-data.js';

/** Words that make a parameter name a secret's: `DbPassword`, `GithubToken`, `SshPrivateKey`, `ClientSecret`. */
const SECRET_WORDS = /(password|passwd|passphrase|secret|token|credential|private.?key|api.?key|access.?key)/i;

/**
 * Name endings of parameters that point at a secret or describe one rather than hold it: `DbSecretArn`,
 * `TokenTtl`, `PasswordLength`, `ApiKeyParameterName`. Case-sensitive, as parameter names are PascalCase.
 */
const REFERENCE_ENDING = /(Name|Arn|ARN|Id|ID|Path|Ttl|TTL|Length|Version|Enabled|Required|Type|Count|Days|Hours|Minutes|Seconds|Rotation|Policy|Url|URL|Uri|URI|Location)s?$/;

/** A name with "Key" as a word (`LicenseKey`, `HmacKeyValue`), but not an EC2 key pair, a KMS key or a public key. */
const KEY_WORD = /Key(?![a-z])/;
const NOT_KEY_MATERIAL = /KeyPair|Kms|KMS|Public/;

/** Whether a parameter name says it holds a secret. `KeyName` (an EC2 key pair's name) does not. */
function isSecretName(name: string): boolean {
  return SECRET_WORDS.test(name) && !REFERENCE_ENDING.test(name);
}

const isKeyName = (name: string) => KEY_WORD.test(name) && !NOT_KEY_MATERIAL.test(name) && !REFERENCE_ENDING.test(name);

/** Credentials recognized by their shape, wherever they are. */
const CREDENTIAL_SHAPES: readonly { readonly what: string; readonly pattern: RegExp }[] = [
  // Long-term (AKIA) and temporary (ASIA) access key IDs: IAM User Guide, "Understanding unique ID prefixes".
  { what: 'an AWS access key ID', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { what: 'a private key (PEM)', pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/ },
];

/** A secret access key is 40 characters of base64 (`wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`). */
const SECRET_ACCESS_KEY = /(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/;
/** Names near which a 40-character base64 string is taken for a secret access key. */
const AWS_CREDENTIAL_NAME = /(secret|credential|aws|access|key)/i;

/** Text that assigns a password or token in a script: `password=hunter2hunter2`. */
const ASSIGNED_SECRET = /(password|passwd|secret|token)\s*[=:]\s*['"]?[^\s'"$<{]{8,}/i;

/** Shannon entropy of a string, in bits per character. */
function entropy(text: string): number {
  const counts = new Map<string, number>();
  for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
  const n = [...text].length;
  return [...counts.values()].reduce((h, k) => h - (k / n) * Math.log2(k / n), 0);
}

/**
 * Random-looking: 16 or more characters of a key alphabet (base64, base64url, hex) with letters and digits, at
 * 3.5 bits per character or more (random base64 of that length has about 4; words and paths less). A UUID is
 * a KMS key ID more often than a secret, so it does not count.
 */
function isHighEntropy(text: string): boolean {
  return (
    /^[A-Za-z0-9+/=_-]{16,}$/.test(text) &&
    /[A-Za-z]/.test(text) &&
    /[0-9]/.test(text) &&
    !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text) &&
    entropy(text) >= 3.5
  );
}

/** What a credential-shaped text is (`an AWS access key ID`), if it is one. `name` is where it is found. */
function credentialIn(text: string, name: string): string | undefined {
  const shape = CREDENTIAL_SHAPES.find((s) => s.pattern.test(text));
  if (shape) return shape.what;
  const match = SECRET_ACCESS_KEY.exec(text)?.[0];
  if (match && AWS_CREDENTIAL_NAME.test(name) && /[A-Z]/.test(match) && /[a-z]/.test(match)) return 'a 40-character string shaped like an AWS secret access key';
  return undefined;
}

type Parameter = NonNullable<Stack['template']['Parameters']>[string];

/** Values no one would keep secret: a number, true or false, an ARN. */
const plainValue = (text: string) => /^-?[0-9]+(\.[0-9]+)?$/.test(text) || /^(true|false|yes|no)$/i.test(text) || text.startsWith('arn:');

/** Why a parameter's Default gives a secret away, if it does. An empty Default gives nothing away. */
function secretInDefault(name: string, parameter: Parameter): string | undefined {
  if (parameter.Default === undefined || parameter.Default === null) return undefined;
  const text = typeof parameter.Default === 'string' ? parameter.Default : JSON.stringify(parameter.Default);
  if (text.trim() === '') return undefined;
  const credential = credentialIn(text, name);
  if (credential) return `its Default holds ${credential}`;
  // The value of a Parameter Store parameter type is the name of the parameter that holds it.
  if (parameter.Type?.startsWith('AWS::SSM::Parameter::')) return undefined;
  if (isTrue(parameter.NoEcho)) return 'it is NoEcho, but NoEcho does not mask its Default';
  if (isSecretName(name) && !plainValue(text)) return `its name says it holds a secret and it has a Default (${[...text].length} characters)`;
  if (isKeyName(name) && isHighEntropy(text)) return `its Default is a random-looking ${[...text].length}-character string in a key parameter`;
  return undefined;
}

function isSecretParameter(stack: Stack, name: string): boolean {
  const p = stack.template.Parameters?.[name];
  return p !== undefined && (isTrue(p.NoEcho) || isSecretName(name));
}

const secretParametersNoEcho: Rule = {
  id: 'DCOS.CFN.1',
  title: 'Parameters that look like secrets are NoEcho',
  check: (set) =>
    set.stacks.flatMap((stack) =>
      Object.entries(stack.template.Parameters ?? {})
        .filter(([name, p]) => isSecretName(name) && !isTrue(p.NoEcho))
        .map(([name]) => stackFinding(secretParametersNoEcho, stack, `Parameters.${name}`, `looks like a secret but is not NoEcho; set NoEcho: true (better: read it from Secrets Manager at boot)`)),
    ),
};

/** Secret parameters referenced and credential-shaped literals inside a raw template value. */
function secretsIn(stack: Stack, value: unknown, where: string): string[] {
  if (typeof value === 'string') {
    // A script line names what it sets (`AWS_SECRET_ACCESS_KEY=...`), as a parameter's name does.
    const credentials = value.split('\n').flatMap((line) => credentialIn(line, `${where} ${line}`) ?? []);
    return [...credentials, ...(ASSIGNED_SECRET.test(value) ? ['a password or token assigned in clear'] : [])];
  }
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap((v) => secretsIn(stack, v, where));
  const o = value as Record<string, unknown>;
  const refs = typeof o['Ref'] === 'string' ? [o['Ref']] : [];
  const sub = o['Fn::Sub'];
  const subText = typeof sub === 'string' ? sub : Array.isArray(sub) && typeof sub[0] === 'string' ? sub[0] : '';
  refs.push(...[...subText.matchAll(/\$\{([^!}.]+)\}/g)].map((m) => m[1]!));
  const params = refs.filter((r) => isSecretParameter(stack, r)).map((r) => `secret parameter ${r}`);
  return [...params, ...Object.values(o).flatMap((v) => secretsIn(stack, v, where))];
}

const noSecretsInUserDataOrOutputs: Rule = {
  id: 'DCOS.CFN.2',
  title: 'No secret in user data or outputs',
  check: (set) =>
    set.stacks.flatMap((stack) => {
      const inUserData = Object.entries(stack.template.Resources).flatMap(([id, r]) => {
        const found = [...new Set(secretsIn(stack, userDataOf(r), 'UserData'))];
        return found.length ? [stackFinding(noSecretsInUserDataOrOutputs, stack, id, `user data holds ${found.join(', ')}; fetch secrets at boot from Secrets Manager or SSM`)] : [];
      });
      const inOutputs = Object.entries(stack.template.Outputs ?? {}).flatMap(([name, o]) => {
        const found = [...new Set(secretsIn(stack, o.Value, name))];
        return found.length ? [stackFinding(noSecretsInUserDataOrOutputs, stack, `Outputs.${name}`, `output shows ${found.join(', ')}; do not output secrets`)] : [];
      });
      return [...inUserData, ...inOutputs];
    }),
};

const noSecretDefaults: Rule = {
  id: 'DCOS.CFN.4',
  title: 'No parameter Default holds a secret',
  check: (set) =>
    set.stacks.flatMap((stack) =>
      Object.entries(stack.template.Parameters ?? {}).flatMap(([name, p]) => {
        const why = secretInDefault(name, p);
        return why === undefined
          ? []
          : [stackFinding(noSecretDefaults, stack, `Parameters.${name}`, `${why}; the template shows it to everyone who can read the stack: remove the Default and pass the value at deploy time (better: a dynamic reference to Secrets Manager), and replace a credential that was ever in a template`)];
      }),
    ),
};

/** The rules of this file, in report order. */
export const SECRET_RULES: readonly Rule[] = [secretParametersNoEcho, noSecretsInUserDataOrOutputs, noSecretDefaults];
