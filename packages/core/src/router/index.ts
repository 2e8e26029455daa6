export * from './load-balancer.js';
export { Router } from './router.js';
export type { RequestRecorder, RouterLogger, RouterOptions } from './router.js';
export type { ProxyHandler } from './proxy-handler.js';
export type { ReplicaHeaders } from './replica-pools.js';
