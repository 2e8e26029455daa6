export * from './gpu-cloud-api.js';
export * from './gpu-cloud-client.js';
export * from './gpu-cloud-provider.js';
export * from './map-gpu-cloud-error.js';
