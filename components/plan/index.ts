export * from './erlang.js';
export * from './instances.js';
export * from './plan.js';
