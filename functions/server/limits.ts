/**
 * Serving-side limits beyond protocol.ts LIMITS (which bound the request *content*).
 * These bound the transport and the decoded image, and are quoted in error messages.
 */
import { LIMITS } from '../engine/protocol.js';

export const SERVING_LIMITS = {
  /**
   * VM server body limit. A worst-case valid request is 16 images of 4 MiB in base64
   * (16 x 5.6 MB = 90 MB): far too big to buffer per request, so we cap the body at 32 MiB
   * (e.g. 5 full-size images, or 16 tensors of 3x224x224 floats at ~10 chars per number = 24 MB).
   */
  serverMaxBodyBytes: 32 * 1024 * 1024,
  /** Lambda synchronous invoke payload limit is 6 MB (6,291,456 bytes); API Gateway's is 10 MB. */
  lambdaMaxBodyBytes: 6 * 1024 * 1024,
  /** base64 of maxImageBytes: 4 chars per 3 bytes (4 MiB -> 5,592,408 chars). */
  maxImageBase64Chars: Math.ceil(LIMITS.maxImageBytes / 3) * 4,
  /** Decompression-bomb guard: 40 MP is a 7,300 x 5,500 photo; a 4 MiB PNG can claim far more. */
  maxImagePixels: 40_000_000,
} as const;
