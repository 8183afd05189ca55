/**
 * The serving certificate: read and check a cert/key pair, and swap it into the live HTTPS server when the
 * files change. Kubelet updates a mounted Secret by writing a new timestamped directory and renaming the
 * `..data` symlink onto it, so the watch is on the directory, and a periodic comparison of contents catches
 * whatever the watch misses (watch errors, a directory replaced under us, network filesystems).
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';

export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3';

export interface ServingPairFiles {
  certFile: string;
  keyFile: string;
}

/** File contents as read; Buffers so a comparison is byte for byte. */
export interface ServingPair {
  cert: Buffer;
  key: Buffer;
}

export interface ServingIdentity {
  /** Colon-separated upper-case hex, the format of `tls.TLSSocket#getPeerCertificate().fingerprint256`. */
  fingerprint256: string;
  subject: string;
  validFrom: Date;
  validTo: Date;
}

/** The part of `https.Server` the reloader drives; tests may pass any TLS server. */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

/** Refuses anything older than TLS 1.2 even if a config slipped past the schema. */
export function checkTlsMinVersion(version: string): TlsMinVersion {
  if (version === 'TLSv1.2' || version === 'TLSv1.3') return version;
  throw new Error(`tls.minVersion must be TLSv1.2 or TLSv1.3, got "${version}"`);
}

/** Reads both files; when a file cannot be read, the error names it (both, when neither can be). */
export async function readServingPair(files: ServingPairFiles): Promise<ServingPair> {
  const [cert, key] = await Promise.allSettled([readFile(files.certFile), readFile(files.keyFile)]);
  const problems: string[] = [];
  if (cert.status === 'rejected')
    problems.push(`cannot read TLS certificate file "${files.certFile}": ${(cert.reason as Error).message}`);
  if (key.status === 'rejected')
    problems.push(`cannot read TLS key file "${files.keyFile}": ${(key.reason as Error).message}`);
  if (cert.status === 'rejected' || key.status === 'rejected') throw new Error(problems.join('; '));
  return { cert: cert.value, key: key.value };
}

/**
 * Checks that the pair parses and belongs together, the way the TLS stack will use it, and describes the
 * certificate. Throws an Error naming the file at fault. Validity dates are reported, not enforced: a
 * freshly issued certificate can look "not yet valid" on a node whose clock lags the issuer's.
 */
export function checkServingPair(
  pair: ServingPair,
  files: ServingPairFiles,
  minVersion: TlsMinVersion,
): ServingIdentity {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pair.cert);
  } catch (err) {
    throw new Error(
      `TLS certificate file "${files.certFile}" does not hold a PEM certificate: ${(err as Error).message}`,
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pair.key);
  } catch (err) {
    throw new Error(`TLS key file "${files.keyFile}" does not hold a PEM private key: ${(err as Error).message}`);
  }
  if (!certificate.checkPrivateKey(key)) {
    throw new Error(`TLS key file "${files.keyFile}" does not match the certificate in "${files.certFile}"`);
  }
  try {
    createSecureContext(secureContextOptions(pair, minVersion));
  } catch (err) {
    throw new Error(
      `TLS certificate "${files.certFile}" and key "${files.keyFile}" are not usable together: ${(err as Error).message}`,
    );
  }
  return {
    fingerprint256: certificate.fingerprint256,
    subject: certificate.subject,
    validFrom: new Date(certificate.validFrom),
    validTo: new Date(certificate.validTo),
  };
}

export function secureContextOptions(pair: ServingPair, minVersion: TlsMinVersion): SecureContextOptions {
  return { cert: pair.cert, key: pair.key, minVersion };
}

export type ReloadOutcome = 'unchanged' | 'reloaded' | 'rejected' | 'unreadable';

export interface ServingCertificateReloaderOptions extends ServingPairFiles {
  minVersion: TlsMinVersion;
  /** 0 turns the periodic check off (the directory watch still runs). */
  reloadIntervalSeconds: number;
  logger: Logger;
  /** The pair the server was started with. */
  initial: ServingPair;
  initialIdentity: ServingIdentity;
}

/** Bursts of watch events (a Secret update renames several entries) settle into one check. */
const WATCH_SETTLE_MS = 100;

export class ServingCertificateReloader {
  private lastSeen: ServingPair;
  private identity: ServingIdentity;
  private watchers: FSWatcher[] = [];
  private interval: NodeJS.Timeout | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private inFlight: Promise<ReloadOutcome> | undefined;
  private checkAgain = false;
  private stopped = false;

  constructor(
    private readonly target: SecureContextTarget,
    private readonly options: ServingCertificateReloaderOptions,
  ) {
    this.lastSeen = options.initial;
    this.identity = options.initialIdentity;
  }

  /** The certificate the server presents to new connections. */
  get current(): ServingIdentity {
    return this.identity;
  }

  start(): void {
    const log = this.options.logger;
    for (const dir of new Set([dirname(this.options.certFile), dirname(this.options.keyFile)])) {
      try {
        // Not persistent: the watch must never be what keeps the process alive.
        const watcher = watch(dir, { persistent: false }, () => this.scheduleCheck());
        watcher.on('error', (err) => {
          log.warn({ err, dir }, 'watching the TLS directory failed; relying on the periodic check');
          watcher.close();
        });
        this.watchers.push(watcher);
      } catch (err) {
        log.warn({ err, dir }, 'cannot watch the TLS directory; relying on the periodic check');
      }
    }
    if (this.options.reloadIntervalSeconds > 0) {
      this.interval = setInterval(() => void this.reloadIfChanged(), this.options.reloadIntervalSeconds * 1000);
      this.interval.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
    clearInterval(this.interval);
    clearTimeout(this.settleTimer);
  }

  private scheduleCheck(): void {
    if (this.stopped) return;
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => void this.reloadIfChanged(), WATCH_SETTLE_MS);
    this.settleTimer.unref();
  }

  /**
   * Reads the files and, if they differ from the last pair seen, checks the new pair and installs it.
   * Checks never overlap: a call during a check makes that check run once more when it ends.
   */
  reloadIfChanged(): Promise<ReloadOutcome> {
    if (this.inFlight) {
      this.checkAgain = true;
      return this.inFlight;
    }
    this.inFlight = (async () => {
      let outcome: ReloadOutcome;
      do {
        this.checkAgain = false;
        outcome = await this.checkOnce();
      } while (this.checkAgain && !this.stopped);
      return outcome;
    })().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async checkOnce(): Promise<ReloadOutcome> {
    const { logger: log, certFile, keyFile, minVersion } = this.options;
    let pair: ServingPair;
    try {
      pair = await readServingPair(this.options);
    } catch (err) {
      // Not remembered as seen: the next event or tick tries again.
      log.error({ reason: (err as Error).message }, 'TLS files unreadable; still serving the current certificate');
      return 'unreadable';
    }
    if (this.stopped) return 'unchanged';
    if (pair.cert.equals(this.lastSeen.cert) && pair.key.equals(this.lastSeen.key)) return 'unchanged';
    // Remembered even if rejected, so a broken pair is reported once, not on every tick until it is fixed.
    this.lastSeen = pair;
    let identity: ServingIdentity;
    try {
      identity = checkServingPair(pair, { certFile, keyFile }, minVersion);
    } catch (err) {
      log.error(
        { certFile, keyFile, reason: (err as Error).message, current: this.identity.fingerprint256 },
        'new TLS certificate rejected; still serving the current certificate',
      );
      return 'rejected';
    }
    // Existing connections keep their session; new handshakes get the new pair. Nothing restarts.
    this.target.setSecureContext(secureContextOptions(pair, minVersion));
    const previous = this.identity.fingerprint256;
    this.identity = identity;
    const now = Date.now();
    const timely = identity.validFrom.getTime() <= now && now < identity.validTo.getTime();
    const fields = {
      previous,
      fingerprint256: identity.fingerprint256,
      subject: identity.subject,
      validTo: identity.validTo.toISOString(),
    };
    if (timely) log.info(fields, 'TLS certificate reloaded');
    else log.warn(fields, 'TLS certificate reloaded, but it is outside its validity period');
    return 'reloaded';
  }
}
