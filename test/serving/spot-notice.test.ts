/**
 * The VM server's Spot interruption-notice watcher against the loopback IMDS stand-in
 * (controller/local/imds-standin.ts, a real HTTP server speaking IMDSv2's token and
 * spot/instance-action routes): token required, 404 then 200, malformed answers, IMDS down.
 * Then the server side with the real engine: on notice new requests get 503 spot_reclaim, an
 * accepted (held) request still gets 200, /readyz is 503 'spot-notice' with the time, /healthz
 * reports it too, and the listener stays open so the controller can read it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine } from '../../functions/engine/engine.js';
import { readServerEnv, spotWatchEndpoint } from '../../functions/server/config.js';
import { ServingConfigError } from '../../functions/server/errors.js';
import {
  IMDS_DEFAULT_ENDPOINT,
  IMDS_INSTANCE_ACTION_PATH,
  IMDS_TOKEN_HEADER,
  parseInstanceAction,
  type SpotNotice,
  SpotNoticeWatcher,
} from '../../functions/server/spot-notice.js';
import { createVmServer } from '../../functions/server/vm-server.js';
import { type ImdsStandIn, startImdsStandIn } from '../../controller/local/imds-standin.js';
import { gatedEngine, NO_MODEL_MSG, quietLogger, SERVED, samples } from './helpers.js';

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function standIn(): Promise<ImdsStandIn> {
  const imds = await startImdsStandIn();
  closers.push(() => imds.close());
  return imds;
}

function watcher(endpoint: string, notices: SpotNotice[]): SpotNoticeWatcher {
  const w = new SpotNoticeWatcher({
    endpoint,
    pollMs: 20,
    timeoutMs: 500,
    onNotice: (n) => notices.push(n),
    log: quietLogger,
  });
  closers.push(() => w.stop());
  return w;
}

describe('parseInstanceAction (pure)', () => {
  it('404 is no notice, 200 JSON a notice, 401 a rejected token', () => {
    expect(parseInstanceAction(404, 'Not Found')).toEqual({ kind: 'none' });
    expect(parseInstanceAction(401, '')).toEqual({ kind: 'token-rejected' });
    expect(parseInstanceAction(200, '{"action":"terminate","time":"2026-12-07T09:02:00Z"}')).toEqual({
      kind: 'notice',
      notice: {
        action: 'terminate',
        time: '2026-12-07T09:02:00Z',
        timeMs: Date.parse('2026-12-07T09:02:00Z'),
      },
    });
  });
  it.each([
    [200, 'not json', /not JSON/],
    [200, '{"action":"reboot","time":"2026-12-07T09:02:00Z"}', /action/],
    [200, '{"action":"terminate"}', /time/],
    [200, '{"action":"terminate","time":"soon"}', /ISO 8601/],
    [500, 'oops', /status 500/],
  ])('%i %s is malformed, with the reason', (status, body, reason) => {
    const a = parseInstanceAction(status, body);
    expect(a.kind).toBe('malformed');
    expect(a.kind === 'malformed' && a.reason).toMatch(reason);
  });
});

describe('SpotNoticeWatcher against the loopback IMDS stand-in', () => {
  it('the stand-in requires a token (401 without, 400 for a bad TTL), as IMDSv2 does', async () => {
    const imds = await standIn();
    const bare = await fetch(`${imds.endpoint}${IMDS_INSTANCE_ACTION_PATH}`);
    expect(bare.status).toBe(401);
    const wrong = await fetch(`${imds.endpoint}${IMDS_INSTANCE_ACTION_PATH}`, {
      headers: { [IMDS_TOKEN_HEADER]: 'made-up' },
    });
    expect(wrong.status).toBe(401);
    const badTtl = await fetch(`${imds.endpoint}/latest/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '99999' },
    });
    expect(badTtl.status).toBe(400);
  });

  it('404 means nothing; once the stand-in has an instance-action the watcher reports it once and stops', async () => {
    const imds = await standIn();
    const notices: SpotNotice[] = [];
    const w = watcher(imds.endpoint, notices);
    expect((await w.pollOnce()).kind).toBe('none');
    expect((await w.pollOnce()).kind).toBe('none');
    expect(imds.counts.tokens).toBe(1); // the token is reused across polls
    expect(notices).toEqual([]);
    const time = new Date(Date.now() + 120_000).toISOString();
    imds.setInstanceAction({ action: 'terminate', time });
    w.start();
    await expect.poll(() => notices.length, { timeout: 5_000 }).toBe(1);
    expect(notices[0]).toMatchObject({ action: 'terminate', time });
    const asked = imds.counts.instanceAction;
    await new Promise((r) => setTimeout(r, 150));
    expect(imds.counts.instanceAction).toBe(asked); // final: no more polls
    expect(notices).toHaveLength(1);
    expect(w.noticed()?.time).toBe(time);
  });

  it('an expired token (401) is replaced and the same poll still answers', async () => {
    const imds = await standIn();
    const w = watcher(imds.endpoint, []);
    await w.pollOnce();
    imds.expireTokens();
    expect((await w.pollOnce()).kind).toBe('none');
    expect(imds.counts.tokens).toBe(2);
    expect(imds.counts.unauthorized).toBe(1);
    expect(w.failures).toBe(0);
  });

  it('malformed answers are failures, not notices, and the watcher keeps polling until a real one', async () => {
    const imds = await standIn();
    const notices: SpotNotice[] = [];
    const w = watcher(imds.endpoint, notices);
    imds.setRawInstanceAction(200, '{"action":');
    expect((await w.pollOnce()).kind).toBe('malformed');
    imds.setRawInstanceAction(200, '{"action":"terminate","time":"whenever"}');
    expect((await w.pollOnce()).kind).toBe('malformed');
    imds.setRawInstanceAction(503, 'busy');
    expect((await w.pollOnce()).kind).toBe('malformed');
    expect(w.failures).toBe(3);
    expect(notices).toEqual([]);
    imds.setInstanceAction({ action: 'stop', time: '2026-12-07T09:02:00Z' });
    expect((await w.pollOnce()).kind).toBe('notice');
    expect(notices.map((n) => n.action)).toEqual(['stop']);
  });

  it('IMDS down (connection refused) or hanging: no throw, no notice, a failure counted', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const deadPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const notices: SpotNotice[] = [];
    const down = watcher(`http://127.0.0.1:${deadPort}`, notices);
    expect((await down.pollOnce()).kind).toBe('malformed');
    // A server that accepts and never answers: the per-call timeout ends the poll.
    const hang = createServer(() => {});
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
    closers.push(() => {
      hang.closeAllConnections();
      return new Promise<void>((r) => hang.close(() => r()));
    });
    const stuck = new SpotNoticeWatcher({
      endpoint: `http://127.0.0.1:${(hang.address() as AddressInfo).port}`,
      timeoutMs: 100,
      onNotice: (n) => notices.push(n),
      log: quietLogger,
    });
    expect((await stuck.pollOnce()).kind).toBe('malformed');
    expect(down.failures + stuck.failures).toBe(2);
    expect(notices).toEqual([]);
  });
});

describe('Spot watch config (the server config reader)', () => {
  const base = { SPILLWAY_VARIANTS: 'x' };
  it('off by default; SPILLWAY_SPOT=1 watches EC2 IMDS; an endpoint alone turns it on', () => {
    expect(spotWatchEndpoint(readServerEnv(base))).toBeUndefined();
    expect(spotWatchEndpoint(readServerEnv({ ...base, SPILLWAY_SPOT: '1' }))).toBe(IMDS_DEFAULT_ENDPOINT);
    expect(spotWatchEndpoint(readServerEnv({ ...base, SPILLWAY_IMDS_ENDPOINT: 'http://127.0.0.1:9' }))).toBe(
      'http://127.0.0.1:9',
    );
    expect(readServerEnv(base).SPILLWAY_SPOT_POLL_MS).toBe(1000);
  });
  it('bad values name the variable', () => {
    expect(() => readServerEnv({ ...base, SPILLWAY_SPOT: 'yes' })).toThrow(ServingConfigError);
    expect(() => readServerEnv({ ...base, SPILLWAY_SPOT: 'yes' })).toThrow(/SPILLWAY_SPOT=/);
    expect(() => readServerEnv({ ...base, SPILLWAY_IMDS_ENDPOINT: 'nope' })).toThrow(
      /SPILLWAY_IMDS_ENDPOINT/,
    );
    expect(() => readServerEnv({ ...base, SPILLWAY_SPOT_POLL_MS: '5' })).toThrow(/SPILLWAY_SPOT_POLL_MS/);
  });
});

describe.skipIf(!SERVED)(`VM server on a Spot notice (${SERVED?.name ?? NO_MODEL_MSG})`, () => {
  it('refuses new work with 503 spot_reclaim, answers the accepted request, reports the notice on /readyz and /healthz', async () => {
    const engine = createEngine({});
    closers.push(() => engine.close());
    const g = gatedEngine(engine);
    const server = createVmServer({
      engine: g.engine,
      variants: [SERVED!.name],
      logger: quietLogger,
      warmUp: false,
    });
    await server.load();
    const { port } = await server.listen(0, '127.0.0.1');
    closers.push(() => server.drain({ forceAfterMs: 1000 }));
    const url = `http://127.0.0.1:${port}`;
    const body = JSON.stringify({
      model: SERVED!.name,
      inputs: [{ image: samples()[0]!.bytes.toString('base64') }],
    });
    const post = () =>
      fetch(`${url}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

    const accepted = post();
    await g.firstEntered; // held inside the engine: accepted before the notice
    const time = new Date(Date.now() + 120_000).toISOString();
    server.spotNotice({ action: 'terminate', time, timeMs: Date.parse(time) });

    const refused = await post();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    const err = (await refused.json()) as { error: { code: string; message: string } };
    expect(err.error.code).toBe('spot_reclaim');
    expect(err.error.message).toContain(time);

    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    const readyBody = (await ready.json()) as {
      status: string;
      spotNotice: { time: string; drained: boolean; acceptedInFlight: number };
    };
    expect(readyBody.status).toBe('spot-notice');
    expect(readyBody.spotNotice).toMatchObject({
      action: 'terminate',
      time,
      drained: false,
      acceptedInFlight: 1,
    });

    g.open();
    expect((await accepted).status).toBe(200);
    const health = (await (await fetch(`${url}/healthz`)).json()) as {
      status: string;
      spotNotice: { drained: boolean; acceptedInFlight: number };
    };
    expect(health.status).toBe('ok');
    expect(health.spotNotice).toMatchObject({ drained: true, acceptedInFlight: 0 });
  });
});
