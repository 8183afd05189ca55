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

/**
 * How long a line may wait in the buffer of the standard output destination. Lines are written in chunks of
 * at least MIN_WRITE_BYTES, one write for many lines instead of one per line (the webhook logs one per
 * patched pod), and at least this often, so an operator watching a quiet webhook still sees each line soon.
 */
const LOG_FLUSH_INTERVAL_MS = 100;
const MIN_WRITE_BYTES = 4096;

/**
 * pino's asynchronous destination on standard output (https://getpino.io/#/docs/asynchronous). pino writes
 * out what it holds when the process exits, also through process.exit or an uncaught exception or
 * rejection (Node emits 'exit' for those too), so the last line before a crash is not lost.
 */
function bufferedStdout(): pino.DestinationStream {
  return pino.destination({ dest: 1, sync: false, minLength: MIN_WRITE_BYTES, periodicFlush: LOG_FLUSH_INTERVAL_MS });
}

/** A logger writing JSON lines to `destination`, or to standard output through a buffer when none is given. */
export function createLogger(
  options: { level: LevelWithSilent; name: string },
  destination: pino.DestinationStream = bufferedStdout(),
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
