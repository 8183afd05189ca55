/** Schema pieces every program's configuration shares: where it listens, how much it logs. */
import type { JSONSchemaType } from 'ajv';

/** An empty object as the default of a nested section: ajv then fills it from the section's own defaults. */
export const FILLED_FROM_NESTED_DEFAULTS = {} as never;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const logSection: JSONSchemaType<{ level: LogLevel }> = {
  type: 'object',
  additionalProperties: false,
  default: FILLED_FROM_NESTED_DEFAULTS,
  required: ['level'],
  properties: { level: { type: 'string', enum: [...LOG_LEVELS], default: 'info' } },
};

/** `{host, port}` with the program's own default port. */
export function listenSection(defaultPort: number): JSONSchemaType<{ host: string; port: number }> {
  return {
    type: 'object',
    additionalProperties: false,
    default: FILLED_FROM_NESTED_DEFAULTS,
    required: ['host', 'port'],
    properties: {
      host: { type: 'string', minLength: 1, default: '0.0.0.0' },
      port: { type: 'integer', minimum: 0, maximum: 65535, default: defaultPort },
    },
  };
}
