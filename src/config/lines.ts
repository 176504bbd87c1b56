// Source lines of config fields (`connectors[0].update.at` → 14), from js-yaml's event stream, for error messages.
import { EVENT_ID, getScalarValue, type Event as YamlEvent } from 'js-yaml';
import type { ParsedYaml } from '../common/yaml.js';

/** Maps each field path of the document to the line of its key (or of its value for list items). */
export function fieldLines(parsed: ParsedYaml, text: string): Map<string, number> {
  const lines = new Map<string, number>();
  const events = parsed.events;
  let i = 0;
  const record = (path: string, offset: number): void => {
    if (path && offset >= 0 && !lines.has(path)) lines.set(path, parsed.lineAt(offset));
  };
  const next = (): YamlEvent | undefined => events[i++];
  const walk = (path: string): void => {
    const event = next();
    if (!event) return;
    if (event.type === EVENT_ID.SCALAR) {
      record(path, event.valueStart);
    } else if (event.type === EVENT_ID.SEQUENCE) {
      record(path, event.start);
      for (let index = 0; events[i] && events[i]!.type !== EVENT_ID.POP; index++) walk(`${path}[${index}]`);
      i++;
    } else if (event.type === EVENT_ID.MAPPING) {
      record(path, event.start);
      while (events[i] && events[i]!.type !== EVENT_ID.POP) {
        const key = events[i]!;
        if (key.type === EVENT_ID.SCALAR) {
          i++;
          const child = path ? `${path}.${getScalarValue(text, key)}` : getScalarValue(text, key);
          record(child, key.valueStart);
          walk(child);
        } else {
          walk(`${path}.?`); // a complex key: skip it and its value
          walk(`${path}.?`);
        }
      }
      i++;
    }
    // Aliases repeat another node: the anchor's lines are enough.
  };
  try {
    while (i < events.length) {
      const event = next();
      if (event?.type === EVENT_ID.DOCUMENT) walk('');
    }
  } catch {
    // Lines only decorate messages: a shape this walker does not know leaves them out.
  }
  return lines;
}
