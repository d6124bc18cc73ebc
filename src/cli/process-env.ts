/** Injection token for the environment commands read their configuration from (process.env; tests pass their own). */
export const PROCESS_ENV = Symbol('PROCESS_ENV');
