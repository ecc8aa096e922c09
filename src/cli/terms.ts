/** API field names mapped to the command-line flags that set them. */
export type FlagNames = Record<string, string>;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Rewrites a refusal the server phrased in API terms into the flags the user typed:
 * `body.rollbackWindowMinutes must be >= 5` becomes `--rollback-window must be >= 5`, and a
 * part of a list value keeps its place in it: `body.sensitivePorts.1` becomes
 * `--sensitive-ports[1]`. Fields the command has no flag for are left as the server named them.
 */
export function inCliTerms(message: string, flags: FlagNames): string {
  let out = message;
  const fields = Object.keys(flags).sort((a, b) => b.length - a.length);
  for (const field of fields) {
    const flag = flags[field] ?? field;
    const name = escape(field);
    out = out
      .replace(
        new RegExp(`\\b(?:body|querystring)\\.${name}((?:\\.\\d+)(?:\\.\\w+)*)?(?![\\w.])`, 'g'),
        (_match, within: string | undefined) => flag + (within ?? '').replace(/\.(\d+)/g, '[$1]'),
      )
      .replace(new RegExp(`"${name}"`, 'g'), flag)
      .replace(new RegExp(`^${name}(?![\\w.])`), flag);
  }
  return out;
}
