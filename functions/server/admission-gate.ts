/**
 * Admission before the body is read, shared by the controller's public API (controller/server/
 * admission.ts) and the VM inference server: a request is admitted or refused from its headers and
 * the server's own in-flight counts alone, before a byte of its body is read or parsed. Admitted,
 * it holds its charge until its answer is finished (or the client went away); refused, the server
 * answers 503 with Retry-After at once and never buffers the body.
 *
 * This is what keeps memory bounded at any offered load: at most `maxInFlight` requests and at
 * most `maxInFlightBodyBytes` of their bodies are held at once. Worked number: 512 requests of
 * 100 KB images hold ~51 MB of bodies; the parsed copies (utf8 string, the backend payload)
 * roughly triple that, ~150 MB; whatever arrives beyond them costs a 503 of ~50 µs of CPU.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface AdmissionLimits {
  /** Requests held at once: reading their body, parsing, queued or running. */
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

/** Why a request was refused: which limit, what is held and what it would have added. */
export type Refusal =
  | { limit: 'maxInFlight'; max: number }
  | { limit: 'maxInFlightBodyBytes'; max: number; heldBytes: number; chargeBytes: number };

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
    const raw = headers['content-length'];
    const declared = raw === undefined ? Number.NaN : Number(raw);
    return Number.isFinite(declared) && declared >= 0 ? Math.min(declared, this.limits.maxBodyBytes) : this.limits.maxBodyBytes;
  }

  /** A release function (idempotent; call it when the answer is finished) or why it was refused. */
  admit(headers: IncomingHttpHeaders): (() => void) | Refusal {
    const charge = this.chargeOf(headers);
    const { maxInFlight, maxInFlightBodyBytes } = this.limits;
    if (this.inFlight >= maxInFlight) {
      this.refused++;
      return { limit: 'maxInFlight', max: maxInFlight };
    }
    // One request alone may always pass the byte bound (else a body near the limit could never run).
    if (this.inFlight > 0 && this.bytes + charge > maxInFlightBodyBytes) {
      this.refused++;
      return { limit: 'maxInFlightBodyBytes', max: maxInFlightBodyBytes, heldBytes: this.bytes, chargeBytes: charge };
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

/** "which limit, held, what it adds" in words, with the caller's name for each limit's setting. */
export function refusalText(r: Refusal, what: string, settingOf: (limit: Refusal['limit']) => string): string {
  return r.limit === 'maxInFlight'
    ? `holds its limit of ${r.max} ${what} in flight (${settingOf(r.limit)}); retry after 1 s`
    : `holds ${r.heldBytes} of its limit of ${r.max} body bytes in flight (${settingOf(r.limit)}); this request declares ${r.chargeBytes}; retry after 1 s`;
}
