// The package's version, for caches keyed by it (the tuning cache). A test
// keeps it equal to package.json's.
export const WGRAD_VERSION = '0.1.0';
