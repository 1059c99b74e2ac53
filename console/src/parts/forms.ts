// What the forms share: a form's text fields kept by name (forms whose fields change with a kind:
// a step's, a trigger's source), and the text of a field turned into what the API takes. Values go
// to the API as typed; it judges them and names the field at fault.
import { useState } from 'react';

/** One value a line, blank lines left out (arguments, jars, states). */
export const linesOf = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

/** A number field's text as the API's Int: blank is "not given", anything else is sent as typed for the API to judge. */
export const intOrNone = (text: string): number | undefined => (text.trim() === '' ? undefined : Number(text));

/** Text fields by name: `bind(name)` for an input, `field(name)` its text, `optional(name)` its trimmed text or undefined when blank. */
export function useFields() {
  const [fields, setFields] = useState<Record<string, string>>({});
  const field = (key: string) => fields[key] ?? '';
  const bind = (key: string) => ({
    value: field(key),
    onChange: (e: { target: { value: string } }) => setFields({ ...fields, [key]: e.target.value }),
  });
  const optional = (key: string) => field(key).trim() || undefined;
  return { field, bind, optional };
}
