export { startModelServer, type ModelServer, type ModelServerOptions } from './model-server.js';
