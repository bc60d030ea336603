/**
 * Temporary folders for a test file or suite, removed by an `after` hook even when a test fails half-way (a
 * test's own `rmSync` at its end would not run then).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Installs an `after` hook in the current suite (the file's root when called at its top) and returns the function
 * that makes a folder under the system's temporary folder, named `<prefix>XXXXXX`, for that hook to remove.
 */
export function tempFolders(defaultPrefix: string): (prefix?: string) => string {
  const made: string[] = [];
  after(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return (prefix = defaultPrefix) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}
