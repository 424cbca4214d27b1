export * from './catalog.js';
export * from './metric-names.js';
export * from './usage.js';
export * from './sip-declaration.js';
export * from './worker-sessions.js';
