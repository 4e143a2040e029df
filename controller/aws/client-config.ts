/**
 * Shared AWS SDK v3 client configuration for the adapters. The endpoint comes from, in order:
 * the explicit `endpoint` option, then the SDK's own configuration (AWS_ENDPOINT_URL,
 * AWS_ENDPOINT_URL_<SERVICE>, shared config file). So the same adapter code talks to AWS, moto,
 * LocalStack and Spillway's local Lambda runtime.
 */

export interface AwsClientOptions {
  /** Explicit endpoint URL, e.g. http://127.0.0.1:5055 for moto. @default SDK config (AWS_ENDPOINT_URL...) */
  endpoint?: string;
  /** @default AWS_REGION / AWS_DEFAULT_REGION, else 'us-east-1' */
  region?: string;
  /**
   * Static credentials. @default the SDK's provider chain; when the endpoint is loopback and no
   * AWS_ACCESS_KEY_ID is set, emulator dummy credentials ('test'/'test'), since emulators accept any.
   */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export interface ResolvedClientConfig {
  endpoint?: string;
  region: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '[::1]';
  } catch {
    return false;
  }
}

export function resolveClientConfig(opts: AwsClientOptions = {}, env = process.env): ResolvedClientConfig {
  const region = opts.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const endpoint = opts.endpoint;
  const effectiveEndpoint = endpoint ?? env.AWS_ENDPOINT_URL;
  let credentials = opts.credentials;
  if (!credentials && effectiveEndpoint && isLoopback(effectiveEndpoint) && !env.AWS_ACCESS_KEY_ID) {
    credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  }
  return { region, ...(endpoint ? { endpoint } : {}), ...(credentials ? { credentials } : {}) };
}
