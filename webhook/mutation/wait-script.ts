/**
 * The script of the init container that holds a pod's app containers back until its EIP is bound. It must run
 * under dash, bash and busybox sh (the init image is small and may be any of them), so it is POSIX sh only:
 * no `timeout` binary (ACK's example uses busybox's old `timeout -t`,
 * docs/annotations.md#what-podeip-writes-back), no `grep -P`, no bashisms.
 */
import { ALLOCATED_EIP_ADDRESS_ANNOTATION, EIP_CONDITION_TYPE } from '../../api/constants.js';
import { WAIT_FOR_EIP_SCRIPT_MARKER, waitTimeoutWholeSeconds } from '../../api/wait-container.js';

export interface WaitForEipOptions {
  /** The downward-API file holding `metadata.annotations`. */
  annotationsFile: string;
  /** Whole seconds after which the script exits non-zero; fractions are rounded up. */
  timeoutSeconds: number;
  /** Seconds between reads of the file; fractions need a `sleep` that takes them (GNU, busybox). */
  pollIntervalSeconds: number;
}

/** Seconds between "waiting" lines, so the log shows progress without a line per poll. */
const PROGRESS_EVERY_SECONDS = 10;

/** Single-quotes a string for sh: the only character that needs care inside '…' is ' itself. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** `0.2` → `0.2`, `2` → `2`: millisecond precision, in a form every `sleep` that accepts fractions reads. */
function formatSeconds(seconds: number): string {
  return String(Number(seconds.toFixed(3)));
}

/** The body of `sh -c`. Exits 0 printing the address, or 1 after the timeout with where to look next. */
export function waitForEipScript(options: WaitForEipOptions): string {
  const { annotationsFile, timeoutSeconds, pollIntervalSeconds } = options;
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new RangeError(`timeoutSeconds must be a positive number of seconds, not ${timeoutSeconds}`);
  }
  if (!Number.isFinite(pollIntervalSeconds) || Number(pollIntervalSeconds.toFixed(3)) <= 0) {
    throw new RangeError(`pollIntervalSeconds must be at least 0.001 s, not ${pollIntervalSeconds}`);
  }
  if (annotationsFile === '' || annotationsFile.includes('\n')) {
    throw new RangeError(`annotationsFile must be a path on one line, not ${JSON.stringify(annotationsFile)}`);
  }
  const timeout = waitTimeoutWholeSeconds(timeoutSeconds);
  const interval = Number(pollIntervalSeconds.toFixed(3));
  // `date +%s` ticks in whole seconds, so the script waits for a difference above the timeout, never at it.
  // Counting polls bounds the wait where `date` is missing: sleeps never end early, so it never cuts it short.
  const sleepsUntilTimeout = Math.max(1, Math.ceil(timeout / interval));
  const progressEvery = Math.max(1, Math.round(PROGRESS_EVERY_SECONDS / interval));

  return `${WAIT_FOR_EIP_SCRIPT_MARKER}
annotations_file=${shellQuote(annotationsFile)}
eip_key=${shellQuote(ALLOCATED_EIP_ADDRESS_ANNOTATION)}
timeout_seconds=${timeout}
poll_interval=${formatSeconds(interval)}
sleeps_until_timeout=${sleepsUntilTimeout}
progress_every=${progressEvery}
# As PID 1 the shell ignores SIGTERM unless it traps it, and a deleted pod would wait out its grace period.
trap 'exit 143' TERM INT

# The downward API writes key="value" lines (Go quoting), with no newline after the last one.
allocated_value() {
  [ -r "$annotations_file" ] || return 1
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in
      "$eip_key=\\""*) value=\${line#*=\\"}; printf '%s\\n' "\${value%\\"}"; return 0 ;;
    esac
  done 2>/dev/null <"$annotations_file"
  return 1
}

is_ipv4() {
  case $1 in ''|*[!0-9.]*|.*|*.|*..*) return 1 ;; esac
  saved_ifs=$IFS
  IFS=.
  set -- $1
  IFS=$saved_ifs
  [ $# -eq 4 ] || return 1
  for octet in "$@"; do
    case $octet in 0?*) return 1 ;; esac
    [ \${#octet} -le 3 ] && [ "$octet" -le 255 ] || return 1
  done
  return 0
}

seconds_now() { date +%s 2>/dev/null; }
started=$(seconds_now)
case $started in ''|*[!0-9]*) started= ;; esac

polls=0
while :; do
  if value=$(allocated_value); then
    if is_ipv4 "$value"; then
      printf 'podeip: EIP address %s is bound to this pod\\n' "$value"
      exit 0
    fi
    state="is \\"$value\\", which is not an IPv4 address"
  else
    state='is not set yet'
  fi
  polls=$((polls + 1))
  if [ -n "$started" ]; then
    now=$(seconds_now)
    case $now in ''|*[!0-9]*) now=$started ;; esac
    [ $((now - started)) -gt "$timeout_seconds" ] && break
  fi
  [ "$polls" -gt "$sleeps_until_timeout" ] && break
  if [ $(((polls - 1) % progress_every)) -eq 0 ]; then
    printf 'podeip: waiting for the EIP address: %s %s in %s (giving up after %ss)\\n' \\
      "$eip_key" "$state" "$annotations_file" "$timeout_seconds"
  fi
  sleep "$poll_interval" 2>/dev/null || sleep 1
done
printf 'podeip: gave up after %ss waiting for the EIP address: annotation %s %s in %s. ' \\
  "$timeout_seconds" "$eip_key" "$state" "$annotations_file" >&2
printf 'The EIP is not bound to this pod: see the Events in "kubectl describe pod" and its %s condition.\\n' \\
  ${shellQuote(EIP_CONDITION_TYPE)} >&2
exit 1
`;
}
