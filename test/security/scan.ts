// The secret scan the security tests share: which of `secrets` appear in which of `places` (name, text).

/** Where a running process could expose a secret: its argv and its environment. */
export async function processPlaces(name: string, pid: number): Promise<Array<[string, string]>> {
  const { readFileSync } = await import('node:fs');
  return [[`${name} cmdline`, readFileSync(`/proc/${pid}/cmdline`, 'utf8')], [`${name} environ`, readFileSync(`/proc/${pid}/environ`, 'utf8')]];
}

/** `where holds a secret` for each place whose text contains one of `secrets` (empty when none leaks). */
export function leaks(places: ReadonlyArray<readonly [string, string]>, secrets: readonly string[]): string[] {
  const found: string[] = [];
  for (const [where, text] of places) {
    for (const [i, secret] of secrets.entries()) if (text.includes(secret)) found.push(`${where} holds secret #${i}`);
  }
  return found;
}
