// Nesting depth of JSON text, counted on the text before parsing: deep payloads crash recursive walkers (ajv, stringify).

/** The deepest nesting of `[`/`{` in JSON text (strings skipped); stops counting once past `limit`. */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return deepest;
}

/** Why a JSON text is too deep for the `payloadDepth` limit, or undefined when it is not. */
export function depthProblem(text: string, limit: number, what: string): string | undefined {
  // Deeper than `limit` takes more than `limit` brackets: a text that short needs no scan.
  if (text.length <= limit) return undefined;
  const depth = jsonDepth(text, limit);
  return depth > limit ? `${what} is nested more than ${limit} levels deep (limit payloadDepth = ${limit})` : undefined;
}
