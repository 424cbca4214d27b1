export * from './price-deployment.js';
