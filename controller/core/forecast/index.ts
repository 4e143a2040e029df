export * from './combiner.js';
export * from './evaluate.js';
export * from './holt-winters.js';
export * from './short-term.js';
export * from './types.js';
