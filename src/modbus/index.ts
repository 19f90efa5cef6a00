export * from './errors.js';
export * from './pdu.js';
export * from './mbap.js';
export * from './client.js';
export * from './server.js';
export * from './areas.js';
export * from './values.js';
