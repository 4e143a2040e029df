/**
 * Ports: what the controller needs from the world. Adapters fill them:
 * - local (controller/local): child-process "VMs" and a Lambda-compatible runtime;
 * - aws (controller/aws): EC2 via @aws-sdk/client-ec2, Lambda via @aws-sdk/client-lambda, CloudWatch.
 * The simulator does not use these; it drives the policy directly in simulated time.
 *
 * CONTRACT: adapters and the control loop code against this file.
 */
import type { BackendInferRequestInput, BackendInferResponse } from '../functions/engine/protocol.js';

export interface VmRecord {
  id: string;
  instanceType: string;
  variant: string;
  /** pending: ordered, not yet serving; ready: /readyz answered; terminating/terminated: going away. */
  state: 'pending' | 'ready' | 'terminating' | 'terminated';
  launchedAtMs: number;
  /** When the server first answered /readyz (provisioning latency = readyAtMs - launchedAtMs). */
  readyAtMs?: number;
  /** Base URL of the VM inference server, e.g. http://127.0.0.1:41234 or http://10.0.1.5:8081. */
  endpoint?: string;
  /** Concurrent service slots (server replicas). */
  slots: number;
}

export interface LaunchSpec {
  instanceType: string;
  variant: string;
  count: number;
  /** Idempotency token: the same token never launches twice (EC2 ClientToken). */
  clientToken: string;
  /** The launching planner's lease fence (coord/fenced-fleet.ts sets it; EC2 tags it `spillway:fence`). */
  fence?: number;
}

/**
 * Faults a world can inject on request (POST /v1/vms/{id}/reclaim): the local world only, where
 * the fleet plays EC2. On AWS, EC2 gives the notice and nothing is injected.
 */
export interface FaultInjectionPort {
  /** Gives the Spot VM EC2's interruption notice; it is killed `noticeMs` later. Returns the termination time. */
  reclaimVm(id: string, opts: { noticeMs?: number }): { time: string; noticeMs: number };
}

export interface VmFleetPort {
  launch(spec: LaunchSpec): Promise<VmRecord[]>;
  terminate(ids: readonly string[]): Promise<void>;
  /** Current fleet, refreshed (readiness probed). On restart this adopts running tagged VMs. */
  describe(): Promise<VmRecord[]>;
  /** Stop everything this fleet owns (shutdown). */
  close(): Promise<void>;
}

/** Calls one VM inference server. */
export interface VmClientPort {
  infer(endpoint: string, body: BackendInferRequestInput, timeoutMs: number): Promise<BackendInferResponse>;
}

export interface InvokeResult {
  response: BackendInferResponse;
  coldStart: boolean;
  /** Billed duration (ms), from the runtime's report or measured. */
  billedDurationMs: number;
  memoryMb: number;
  /** The cold start's INIT phase (ms) when the runtime reported one (REPORT "Init Duration"). */
  initDurationMs?: number;
}

/** A warm-up invoke: an instance started (or found warm) with no request to serve. */
export interface WarmUpResult {
  coldStart: boolean;
  billedDurationMs: number;
  memoryMb: number;
  initDurationMs?: number;
}

export interface FunctionState {
  variant: string;
  functionName: string;
  memoryMb: number;
  /** 'Active' | 'Pending' | 'Failed' as Lambda reports LastUpdateStatus/State. */
  state: string;
}

export interface ServerlessPoolPort {
  /** Throws ThrottledError (controller/errors.ts) on a 429 so the router can fall back. */
  invoke(variant: string, body: BackendInferRequestInput, timeoutMs: number): Promise<InvokeResult>;
  /**
   * Starts one instance of the variant's function without a request (the warm-up event,
   * functions/engine/protocol.ts WARM_UP_EVENT), so the next invoke finds it warm.
   */
  warm(variant: string, timeoutMs: number): Promise<WarmUpResult>;
  /**
   * Set memory for a variant's function and wait until the update is active (a conflicting update
   * in progress is waited for, then retried). `signal` abandons the wait (shutdown).
   */
  setMemory(variant: string, memoryMb: number, opts?: { signal?: AbortSignal }): Promise<void>;
  describe(): Promise<FunctionState[]>;
}

export interface MetricsPort {
  /** One completed request. */
  request(r: { variant: string; backend: 'vm' | 'lambda' | 'rejected'; latencyMs: number; violated: boolean }): void;
  /** Fleet gauges, once per tick. */
  fleet(f: { vmCount: number; lambdaShare: number; dollarsPerHour: number }): void;
  flush(): Promise<void>;
}
