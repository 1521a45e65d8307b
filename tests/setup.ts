import { setDefaultTimeout } from "bun:test";

// Integration tests start real servers, emulators and child processes: Bun's 5 s default is too tight on
// 2 cores. Set here (preloaded by bunfig.toml) so `bun test` and `npm test` behave the same.
setDefaultTimeout(60_000);
