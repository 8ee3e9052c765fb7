import { after, before } from "node:test";

/**
 * For the enclosing suite: sets (a string) or removes (undefined) environment variables before its
 * tests, and puts back what was there after them. `values` runs in the before hook, so a temporary
 * folder it makes belongs to the suite that runs.
 */
export function suiteEnvironment(values: () => Record<string, string | undefined>): void {
  const saved = new Map<string, string | undefined>();
  before(() => {
    for (const [name, value] of Object.entries(values())) {
      saved.set(name, process.env[name]);
      setVariable(name, value);
    }
  });
  after(() => {
    for (const [name, value] of saved) setVariable(name, value);
  });
}

function setVariable(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
