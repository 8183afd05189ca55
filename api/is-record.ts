/**
 * Whether a value parsed from JSON is an object with fields: not null, not an array. Everything that reads
 * untyped JSON (admission requests, API objects, cloud answers) checks with this before reading a field.
 *
 * `T` names what such an object is in the caller's model (a `Json` alias, say); it defaults to a record of
 * unknown values, which is all the check itself proves.
 */
export function isRecord<T extends object = Record<string, unknown>>(value: unknown): value is T {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
