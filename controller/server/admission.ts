/**
 * Admission before the body is read: an inference request (any POST) is admitted or refused from
 * its headers and the router's own in-flight counts alone, before a byte of its body is read or
 * parsed. Refused: 503 `overloaded` + Retry-After, the body is never buffered and the connection
 * closes after the answer (http-util.ts closeAfterAnswer). Admitted: it holds its charge until its
 * answer is finished or the client went away.
 *
 * This is what keeps memory bounded at any offered load: at most `maxInFlight` requests and at
 * most `maxInFlightBodyBytes` of their bodies are held at once. Worked number: 512 requests of
 * 100 KB images hold ~51 MB of bodies; the parsed copies (utf8 string, the backend payload)
 * roughly triple that, ~150 MB, whatever arrives beyond them is a 503 costing ~50 µs of CPU.
 * The health and status routes (GET) are never admitted here: they cannot be queued behind it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { OverloadedError } from './errors.js';

export interface AdmissionLimits {
  /** Inference requests held at once: reading their body, parsing, waiting for a backend. */
  maxInFlight: number;
  /** Sum of the admitted requests' body bytes (declared Content-Length; chunked: the body limit). */
  maxInFlightBodyBytes: number;
  /** The per-request body limit (413 beyond it): what a chunked request (no Content-Length) is charged. */
  maxBodyBytes: number;
}

export interface AdmissionSnapshot {
  inFlight: number;
  inFlightBodyBytes: number;
  maxInFlight: number;
  maxInFlightBodyBytes: number;
  /** Refused at admission since start. */
  refused: number;
}

/** Defaults: 512 requests, 128 MiB of bodies (see the worked number above). */
export const DEFAULT_ADMISSION = { maxInFlight: 512, maxInFlightBodyBytes: 128 * 1024 * 1024 } as const;

export class AdmissionGate {
  private inFlight = 0;
  private bytes = 0;
  private refused = 0;

  constructor(private readonly limits: AdmissionLimits) {}

  /**
   * The body charge: the declared length (capped at the body limit: a larger one is refused with 413
   * without being read), or the body limit when no length is declared (chunked: it may grow to it).
   */
  chargeOf(headers: IncomingHttpHeaders): number {
    const declared = Number(headers['content-length']);
    return Number.isFinite(declared) && declared >= 0 && headers['content-length'] !== undefined
      ? Math.min(declared, this.limits.maxBodyBytes)
      : this.limits.maxBodyBytes;
  }

  /** A release function (call exactly once, when the answer is finished) or the 503 to send. */
  admit(headers: IncomingHttpHeaders): (() => void) | OverloadedError {
    const charge = this.chargeOf(headers);
    const { maxInFlight, maxInFlightBodyBytes } = this.limits;
    if (this.inFlight >= maxInFlight) {
      this.refused++;
      return new OverloadedError(
        `the router holds its limit of ${maxInFlight} inference requests in flight (SPILLWAY_MAX_IN_FLIGHT); retry after 1 s`,
      );
    }
    // One request alone may always pass the byte bound (else a body near the limit could never run).
    if (this.inFlight > 0 && this.bytes + charge > maxInFlightBodyBytes) {
      this.refused++;
      return new OverloadedError(
        `the router holds ${this.bytes} of its limit of ${maxInFlightBodyBytes} body bytes in flight (SPILLWAY_MAX_IN_FLIGHT_BODY_BYTES); this request declares ${charge}; retry after 1 s`,
      );
    }
    this.inFlight++;
    this.bytes += charge;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
      this.bytes -= charge;
    };
  }

  snapshot(): AdmissionSnapshot {
    return {
      inFlight: this.inFlight,
      inFlightBodyBytes: this.bytes,
      maxInFlight: this.limits.maxInFlight,
      maxInFlightBodyBytes: this.limits.maxInFlightBodyBytes,
      refused: this.refused,
    };
  }
}
