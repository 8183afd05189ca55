/** The one pino logger of a podeip process; components take child loggers from it. */
import { pino, type Logger, type LevelWithSilent } from 'pino';

/**
 * Keys that may hold a credential anywhere in a logged object. pino replaces them before a line is
 * written, so a careless `log.info({config})` still cannot leak a secret.
 */
export const REDACTED_PATHS = [
  'accessKeySecret',
  '*.accessKeySecret',
  '*.*.accessKeySecret',
  'securityToken',
  '*.securityToken',
  '*.*.securityToken',
  'token',
  '*.token',
  'password',
  '*.password',
  'keyPem',
  '*.keyPem',
  'req.headers.authorization',
  'headers.authorization',
  '*.headers.authorization',
];

export function createLogger(
  options: { level: LevelWithSilent; name: string },
  destination?: pino.DestinationStream,
): Logger {
  return pino(
    {
      name: options.name,
      level: options.level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { program: options.name },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
