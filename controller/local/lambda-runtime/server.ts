/**
 * The Lambda API subset over HTTP, wire-compatible with @aws-sdk/client-lambda (restJson1):
 *   POST   /2015-03-31/functions/{name}/invocations     Invoke (RequestResponse | Event | DryRun)
 *   GET    /2015-03-31/functions/{name}                 GetFunction
 *   GET    /2015-03-31/functions/{name}/configuration   GetFunctionConfiguration
 *   PUT    /2015-03-31/functions/{name}/configuration   UpdateFunctionConfiguration
 *   GET    /2015-03-31/functions                        ListFunctions
 *   PUT|DELETE /2017-10-31/functions/{name}/concurrency Put/DeleteFunctionConcurrency
 *   GET    /2019-09-30/functions/{name}/concurrency     GetFunctionConcurrency
 *   GET    /2016-08-19/account-settings                 GetAccountSettings
 *   GET    /spillway/stats                              local extension: instances, cold starts, GB-s, $
 * Request signatures are not checked (any dummy credentials work).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidParameter, LambdaApiError } from './api-errors.js';
import { logTailBase64 } from './report-line.js';
import type { LambdaPool } from './pool.js';
import { INTERNAL_TOKEN_HEADER, sameToken } from '../../../functions/server/internal-token.js';

/** Lambda's synchronous payload limit: 6 MB (6,291,456 bytes). */
export const MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024;
const MAX_API_BODY_BYTES = 256 * 1024;

function readBody(req: IncomingMessage, limit: number, operation: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      if (over) {
        reject(
          new LambdaApiError(413, 'RequestTooLargeException', `Request must be smaller than ${limit} bytes for the ${operation} operation`),
        );
      } else resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, err: LambdaApiError): void {
  sendJson(res, err.status, err.body(), { 'x-amzn-ErrorType': err.errorType, ...err.headers });
}

/** `name`, `name:qualifier`, `123456789012:function:name` or a full ARN -> { name, qualifier }. */
export function parseFunctionName(raw: string): { name: string; qualifier?: string } {
  const s = decodeURIComponent(raw);
  const m = /^(?:arn:aws[a-z-]*:lambda:[a-z0-9-]+:)?(?:\d{12}:function:)?([A-Za-z0-9_-]{1,64})(?::([$A-Za-z0-9_-]+))?$/.exec(s);
  if (!m?.[1]) throw invalidParameter(`FunctionName '${s}' is not a valid function name or ARN`);
  return m[2] ? { name: m[1], qualifier: m[2] } : { name: m[1] };
}

/** Whether a call carries the runtime's token (as the SigV4 access key id, or in the header). */
function authorised(req: IncomingMessage, token: string): boolean {
  if (sameToken(token, req.headers[INTERNAL_TOKEN_HEADER])) return true;
  const auth = req.headers.authorization;
  const keyId = typeof auth === 'string' ? /Credential=([^/,\s]+)\//.exec(auth)?.[1] : undefined;
  return sameToken(token, keyId);
}

export function createLambdaApiHandler(pool: LambdaPool, opts: { runtime: string; architecture: string; internalToken?: string }) {
  const codeSha = createHash('sha256').update('spillway-local').digest('base64');

  const configView = (name: string): Record<string, unknown> => {
    const c = pool.configuration(name);
    const view: Record<string, unknown> = {
      FunctionName: name,
      FunctionArn: pool.arn(name),
      Runtime: opts.runtime,
      Role: 'arn:aws:iam::000000000000:role/spillway-local',
      Handler: 'handler.handler',
      CodeSize: 0,
      Description: `Spillway local function for variant ${c.variant}`,
      Timeout: Math.max(1, Math.round(c.timeoutMs / 1000)),
      MemorySize: c.memoryMb,
      LastModified: c.lastModified,
      CodeSha256: codeSha,
      Version: '$LATEST',
      Environment: { Variables: { ...c.env, SPILLWAY_VARIANT: c.variant } },
      State: 'Active',
      LastUpdateStatus: c.status,
      PackageType: 'Zip',
      Architectures: [opts.architecture],
      EphemeralStorage: { Size: 512 },
    };
    if (c.status === 'InProgress') {
      view.LastUpdateStatusReason = 'The function is being updated.';
      view.LastUpdateStatusReasonCode = 'Creating';
    }
    return view;
  };

  const withQualifier = (raw: string, url: URL): string => {
    const { name, qualifier } = parseFunctionName(raw);
    const q = qualifier ?? url.searchParams.get('Qualifier') ?? undefined;
    // Only $LATEST exists locally (no versions or aliases are published).
    if (q !== undefined && q !== '$LATEST') throw new LambdaApiError(404, 'ResourceNotFoundException', `Function not found: ${pool.arn(name)}:${q}`);
    if (!pool.has(name)) throw new LambdaApiError(404, 'ResourceNotFoundException', `Function not found: ${pool.arn(name)}`);
    return name;
  };

  async function invoke(req: IncomingMessage, res: ServerResponse, rawName: string, url: URL): Promise<void> {
    const name = withQualifier(rawName, url);
    const body = await readBody(req, MAX_INVOKE_PAYLOAD_BYTES, 'Invoke');
    let event: unknown = {};
    if (body.length > 0) {
      try {
        event = JSON.parse(body.toString('utf8'));
      } catch {
        throw new LambdaApiError(400, 'InvalidRequestContentException', 'Could not parse request body into json: Unexpected character');
      }
    }
    const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    if (type === 'DryRun') {
      res.writeHead(204, { 'X-Amz-Executed-Version': '$LATEST' });
      res.end();
      return;
    }
    if (type === 'Event') {
      // Async invoke: accepted at once; the outcome only shows in stats, as in Lambda (no DLQ locally).
      pool.invoke(name, event).catch(() => undefined);
      res.writeHead(202, { 'X-Amz-Executed-Version': '$LATEST', 'Content-Length': 0 });
      res.end();
      return;
    }
    if (type !== 'RequestResponse') {
      throw invalidParameter(`X-Amz-Invocation-Type '${type}' is invalid: RequestResponse, Event or DryRun`);
    }
    const out = await pool.invoke(name, event);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(out.payload)),
      'X-Amz-Executed-Version': '$LATEST',
      'x-amzn-RequestId': out.requestId,
      'x-amzn-Remapped-Content-Length': '0',
    };
    if (out.functionError) headers['X-Amz-Function-Error'] = out.functionError;
    if (String(req.headers['x-amz-log-type'] ?? 'None') === 'Tail') headers['X-Amz-Log-Result'] = logTailBase64(out.log);
    res.writeHead(200, headers);
    res.end(out.payload);
  }

  async function updateConfiguration(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    const raw = (await readBody(req, MAX_API_BODY_BYTES, 'UpdateFunctionConfiguration')).toString('utf8');
    let body: Record<string, unknown>;
    try {
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } catch {
      throw invalidParameter('request body is not valid JSON');
    }
    const patch: { memoryMb?: number; timeoutMs?: number; env?: Record<string, string> } = {};
    if (body.MemorySize !== undefined) {
      if (typeof body.MemorySize !== 'number') throw invalidParameter('MemorySize must be a number (MB, 128-10240)');
      patch.memoryMb = body.MemorySize;
    }
    if (body.Timeout !== undefined) {
      if (typeof body.Timeout !== 'number') throw invalidParameter('Timeout must be a number of seconds (1-900)');
      patch.timeoutMs = body.Timeout * 1000;
    }
    if (body.Environment !== undefined) {
      const vars = (body.Environment as { Variables?: unknown } | null)?.Variables ?? {};
      if (typeof vars !== 'object' || vars === null || Object.values(vars).some((v) => typeof v !== 'string')) {
        throw invalidParameter('Environment.Variables must map names to string values');
      }
      patch.env = vars as Record<string, string>;
    }
    pool.updateConfiguration(name, patch);
    sendJson(res, 200, configView(name));
  }

  async function putConcurrency(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    const raw = (await readBody(req, MAX_API_BODY_BYTES, 'PutFunctionConcurrency')).toString('utf8');
    let body: { ReservedConcurrentExecutions?: unknown };
    try {
      body = raw ? (JSON.parse(raw) as typeof body) : {};
    } catch {
      throw invalidParameter('request body is not valid JSON');
    }
    const r = body.ReservedConcurrentExecutions;
    if (typeof r !== 'number') throw invalidParameter('ReservedConcurrentExecutions is required: a non-negative integer');
    pool.setReservedConcurrency(name, r);
    sendJson(res, 200, { ReservedConcurrentExecutions: r });
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (opts.internalToken && !authorised(req, opts.internalToken)) {
      // Lambda's answer to an unknown access key; the body is not read (the connection closes).
      res.on('finish', () => req.socket.destroy());
      sendError(
        res,
        new LambdaApiError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.', {}, { Connection: 'close' }),
      );
      return;
    }
    try {
      const url = new URL(req.url ?? '/', 'http://local');
      const path = url.pathname.replace(/\/+$/, '');
      const method = req.method ?? 'GET';
      const invocations = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(path);
      const fn = /^\/2015-03-31\/functions\/([^/]+)$/.exec(path);
      const configuration = /^\/2015-03-31\/functions\/([^/]+)\/configuration$/.exec(path);
      const concurrency = /^\/(?:2017-10-31|2019-09-30)\/functions\/([^/]+)\/concurrency$/.exec(path);
      if (method === 'POST' && invocations) {
        await invoke(req, res, invocations[1] ?? '', url);
      } else if (method === 'GET' && fn) {
        const name = withQualifier(fn[1] ?? '', url);
        const c = pool.configuration(name);
        const out: Record<string, unknown> = {
          Configuration: configView(name),
          Code: { RepositoryType: 'S3', Location: `file://local/${name}` },
          Tags: { 'spillway:variant': c.variant },
        };
        if (c.reservedConcurrency !== undefined) out.Concurrency = { ReservedConcurrentExecutions: c.reservedConcurrency };
        sendJson(res, 200, out);
      } else if (configuration) {
        const name = withQualifier(configuration[1] ?? '', url);
        if (method === 'GET') sendJson(res, 200, configView(name));
        else if (method === 'PUT') await updateConfiguration(req, res, name);
        else throw new LambdaApiError(405, 'MethodNotAllowed', `${method} is not allowed on ${path}`);
      } else if (method === 'GET' && path === '/2015-03-31/functions') {
        const names = pool.names().sort();
        const start = Number(url.searchParams.get('Marker') ?? 0) || 0;
        const maxItems = Math.min(50, Number(url.searchParams.get('MaxItems') ?? 50) || 50);
        const page = names.slice(start, start + maxItems);
        const out: Record<string, unknown> = { Functions: page.map(configView) };
        if (start + maxItems < names.length) out.NextMarker = String(start + maxItems);
        sendJson(res, 200, out);
      } else if (concurrency) {
        const name = withQualifier(concurrency[1] ?? '', url);
        if (method === 'PUT') await putConcurrency(req, res, name);
        else if (method === 'DELETE') {
          pool.setReservedConcurrency(name, undefined);
          res.writeHead(204);
          res.end();
        } else if (method === 'GET') {
          const r = pool.configuration(name).reservedConcurrency;
          sendJson(res, 200, r === undefined ? {} : { ReservedConcurrentExecutions: r });
        } else throw new LambdaApiError(405, 'MethodNotAllowed', `${method} is not allowed on ${path}`);
      } else if (method === 'GET' && path === '/2016-08-19/account-settings') {
        const s = pool.stats();
        const reserved = s.functions.reduce((a, f) => a + (f.reservedConcurrency ?? 0), 0);
        sendJson(res, 200, {
          AccountLimit: {
            ConcurrentExecutions: s.accountConcurrencyLimit,
            UnreservedConcurrentExecutions: s.accountConcurrencyLimit - reserved,
            CodeSizeUnzipped: 262_144_000,
            CodeSizeZipped: 52_428_800,
            TotalCodeSize: 80_530_636_800,
          },
          AccountUsage: { FunctionCount: s.functions.length, TotalCodeSize: 0 },
        });
      } else if (method === 'GET' && path === '/spillway/stats') {
        sendJson(res, 200, pool.stats());
      } else {
        throw new LambdaApiError(404, 'UnknownOperationException', `Unknown operation ${method} ${path}`);
      }
    } catch (err) {
      req.resume(); // discard an unread body so the keep-alive connection stays usable
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof LambdaApiError) sendError(res, err);
      else sendError(res, new LambdaApiError(500, 'ServiceException', `internal error: ${(err as Error).message}`));
    }
  };
}
