export { startModelServer, type ModelServer, type ModelServerOptions } from './model-server.js';
export {
  LocalProvider,
  createLocalProvider,
  type LocalCapacity,
  type LocalProviderOptions,
  type LocalReplicaOptions,
} from './local-provider.js';
